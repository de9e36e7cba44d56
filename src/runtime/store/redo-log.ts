import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { processAlive } from './process-alive.js';

/** A value a logged statement binds: what JSON carries unchanged. */
export type SqlValue = string | number | null;

/**
 * One write as the log keeps it: the statement's SQL, its parameters, and which parameter (if any,
 * else -1) holds JSON text, which the log embeds as it is rather than escaping it into a string.
 */
export interface LoggedWrite {
  sql: string;
  params: readonly SqlValue[];
  json: number;
}

/** Past this size the log is emptied after a commit, so recovery never reads far. */
const rotateAt = 1 << 20;
/** The buffer a frame is encoded into is kept up to this size; a larger frame gets one of its own. */
const keptBuffer = 1 << 20;
/** Strings up to this length (ids, event types, task keys) have their JSON remembered. */
const quotedLength = 64;

/**
 * The writes of a connection's open transaction, appended to a file at each durability point, so a
 * step is kill -9 safe with one `write()` instead of a SQLite commit. SQLite commits when the event
 * loop turns, and records there which frame of the log it holds (`redo_applied`, in the same
 * transaction). A process killed before that commit leaves its log behind: the next process to open
 * the database, take a lease or resume a run applies the frames SQLite does not hold (see
 * {@link recoverRedoLogs}). Like WAL with synchronous=NORMAL, it survives a killed process, not a
 * power cut.
 *
 * File format, one JSON array per line: a header `["cadre-redo", 2, pid, start]`, SQL definitions
 * `["sql", n, text]` the first time a statement appears, and frames `[frame, [[n, ...params], ...]]`.
 * A parameter holding JSON text (an event's body, a journal step) is written as `{"j": <that JSON>}`,
 * so a frame does not escape every quote of it again; version 1 logs have no such parameters.
 */
export class RedoLog {
  readonly id: string;
  private fd: number | undefined;
  private size = 0;
  private readonly sqlIds = new Map<string, number>();
  /** The JSON of short strings that frames repeat (a run's id in every write, event types, task keys). */
  private readonly quoted = new Map<string, string>();
  /** Where each frame is encoded before its `write()`: one encoding pass, no new buffer per frame. */
  private buffer = Buffer.allocUnsafe(64 * 1024);
  /** A write failed part-way: the file may end in a cut line, so it starts over at the next commit. */
  private damaged = false;
  /** The frame last appended; frames are numbered from 1 for the life of the log. */
  frame = 0;

  constructor(readonly dir: string) {
    this.id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  }

  /**
   * Appends one frame of writes with a single `write()`; durable against kill -9 once it returns.
   * Throws when the write fails (a full disk): the caller commits instead, which empties the log.
   */
  append(writes: readonly LoggedWrite[]): number {
    const fd = (this.fd ??= this.create());
    let definitions = '';
    let entries = '';
    for (const { sql, params, json } of writes) {
      let n = this.sqlIds.get(sql);
      if (n === undefined) {
        this.sqlIds.set(sql, (n = this.sqlIds.size));
        definitions += `${JSON.stringify(['sql', n, sql])}\n`;
      }
      entries += `${entries ? ',' : ''}[${n}`;
      for (let i = 0; i < params.length; i++) {
        const param = params[i];
        // Compact JSON text (no line breaks outside strings) goes in as it is; a finite number is its
        // own JSON; anything else as a JSON value.
        entries +=
          typeof param === 'number' && Number.isFinite(param)
            ? `,${param}`
            : typeof param !== 'string'
              ? `,${JSON.stringify(param)}`
              : i === json
                ? `,{"j":${param}}`
                : `,${this.quote(param)}`;
      }
      entries += ']';
    }
    this.frame += 1;
    const text = `${definitions}[${this.frame},[${entries}]]\n`;
    // UTF-8 takes at most three bytes for each UTF-16 unit of the text.
    let buffer = this.buffer;
    let length: number;
    if (buffer.length >= text.length * 3) length = buffer.write(text);
    else if (text.length * 3 <= keptBuffer)
      length = (this.buffer = buffer = Buffer.allocUnsafe(keptBuffer)).write(text);
    else length = (buffer = Buffer.from(text)).length;
    let written = 0;
    try {
      written = writeSync(fd, buffer, 0, length);
    } finally {
      this.size += written;
      if (written !== length) this.damaged = true;
    }
    if (this.damaged) throw new Error(`wrote ${written} of ${length} bytes to the redo log`);
    return this.frame;
  }

  /** A string as JSON; short ones are worked out once and remembered (a bounded set). */
  private quote(text: string): string {
    if (text.length > quotedLength) return JSON.stringify(text);
    let json = this.quoted.get(text);
    if (json === undefined) {
      if (this.quoted.size >= 1024) this.quoted.clear();
      this.quoted.set(text, (json = JSON.stringify(text)));
    }
    return json;
  }

  /** Called after SQLite committed every appended frame: a log grown large starts over, empty. */
  committed(): void {
    if (this.fd === undefined || (this.size < rotateAt && !this.damaged)) return;
    ftruncateSync(this.fd, 0);
    this.sqlIds.clear();
    this.damaged = false;
    this.size = writeSync(this.fd, header());
  }

  /** Deletes the log: SQLite holds every frame of it (the caller has committed). */
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    try {
      unlinkSync(this.path);
    } catch {
      // Already applied and removed by another process: nothing is lost.
    }
  }

  private get path(): string {
    return join(this.dir, `${this.id}.log`);
  }

  private create(): number {
    mkdirSync(this.dir, { recursive: true });
    // A name of its own (pid and random bits): the file is new.
    const fd = openSync(this.path, 'a', 0o600);
    this.size = writeSync(fd, header());
    return fd;
  }
}

function header(): string {
  return `${JSON.stringify(['cadre-redo', 2, process.pid, startOf(process.pid)])}\n`;
}

/**
 * When a process started, as the kernel counts it (Linux), so a reused pid is not taken for the
 * process that wrote a log; `null` where /proc is missing, and then a live pid is taken as the writer.
 */
function startOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether the process that wrote a log still runs: its pid is alive and, where known, started when it did. */
function writerAlive(pid: number, start: string | null): boolean {
  return processAlive(pid) && (start === null || startOf(pid) === start);
}

/** The table where each commit records the last frame of its log that SQLite now holds. */
export const redoAppliedTable = `CREATE TABLE IF NOT EXISTS redo_applied (
  log TEXT PRIMARY KEY, frame INTEGER NOT NULL, at INTEGER NOT NULL
) WITHOUT ROWID`;

/** Recorded by each commit that holds frames of a log, in the commit's own transaction. */
export const markAppliedSql =
  'INSERT INTO redo_applied (log, frame, at) VALUES (?, ?, ?) ON CONFLICT (log) DO UPDATE SET frame = excluded.frame, at = excluded.at';

/** How long a dead log's row is kept after its frames were applied: long past any reader of its file. */
const keepAppliedMs = 7 * 24 * 3600 * 1000;

/**
 * Applies the frames that processes now gone appended to their logs in `dir` and never committed,
 * each log in one transaction, then deletes the log. Logs of live processes are left alone: their
 * writers commit them. Safe when several processes recover at once: each transaction reads what
 * `redo_applied` already holds. Returns how many frames were applied.
 */
export function recoverRedoLogs(db: Database.Database, dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.log'));
  } catch {
    return 0;
  }
  let applied = 0;
  let removed = 0;
  for (const name of names) {
    const path = join(dir, name);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue; // applied and removed by another process meanwhile
    }
    const lines = text.split('\n');
    // The writer's pid is in the name too: a log cut before its header is still its writer's.
    const head = parse(lines[0]);
    const start = Array.isArray(head) && head[0] === 'cadre-redo' ? (head[3] as string | null) : null;
    if (writerAlive(Number.parseInt(name, 10), start)) continue;
    applied += applyLog(db, name.slice(0, -'.log'.length), lines.slice(1));
    removed += 1;
    try {
      unlinkSync(path);
    } catch {
      // removed by another process that applied it too
    }
  }
  // Pruned only when a dead log was dealt with: a live writer's log alone needs no write here.
  if (removed > 0) db.prepare('DELETE FROM redo_applied WHERE at < ?').run(Date.now() - keepAppliedMs);
  return applied;
}

function applyLog(db: Database.Database, log: string, lines: string[]): number {
  const sql = new Map<number, Database.Statement>();
  let applied = 0;
  db.transaction(() => {
    const done = db.prepare<[string], { frame: number }>('SELECT frame FROM redo_applied WHERE log = ?').get(log);
    let last = done?.frame ?? 0;
    for (const line of lines) {
      // A line cut short by the kill was never acknowledged to its writer: the log ends before it.
      const entry = parse(line);
      if (!Array.isArray(entry)) break;
      if (entry[0] === 'sql') {
        sql.set(entry[1] as number, db.prepare(entry[2] as string));
        continue;
      }
      const [frame, writes] = entry as [number, [number, ...(SqlValue | { j: unknown })[]][]];
      if (frame <= last) continue;
      // A statement the log never defined: the log is damaged from here on, and ends before it.
      if (writes.some(([n]) => !sql.has(n))) break;
      for (const [n, ...params] of writes) sql.get(n)!.run(...params.map(jsonText));
      last = frame;
      applied += 1;
    }
    db.prepare(markAppliedSql).run(log, last, Date.now());
  }).immediate();
  return applied;
}

/** A parameter as it was bound: JSON text the log embedded (`{"j": …}`) is written out again. */
function jsonText(param: SqlValue | { j: unknown }): SqlValue {
  return param !== null && typeof param === 'object' ? JSON.stringify(param.j) : param;
}

function parse(line: string | undefined): unknown {
  if (!line) return undefined;
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
