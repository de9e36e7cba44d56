import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openCadreStore, WriteBatch } from '../../src/runtime/store/index.js';
import { AuditLog } from '../../tools/policy/index.js';

const insertEvent = 'INSERT OR REPLACE INTO events (run_id, seq, type, ts, body) VALUES (?, ?, ?, ?, ?)';

function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

/** A redo log as a process `pid` would have left it: header, the insert's SQL, then `frames` as given. */
function leaveLog(dbPath: string, pid: number, name: string, body: string[]): string {
  const dir = `${dbPath}-redo`;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${pid}-${name}.log`);
  const lines = [JSON.stringify(['cadre-redo', 1, pid, null]), JSON.stringify(['sql', 0, insertEvent]), ...body];
  writeFileSync(path, lines.join('\n'));
  return path;
}

const frame = (n: number, seq: number) =>
  JSON.stringify([n, [[0, 'run_r', seq, 'run.started', 1, JSON.stringify({ type: 'run.started', seq })]]]);

const seqs = (dbPath: string) => {
  const store = openCadreStore({ path: dbPath });
  try {
    return store.events.read('run_r').map((e) => e.seq);
  } finally {
    store.close();
  }
};

/** Runs `script` (an ES module, from the project root) in a process that kills itself with SIGKILL. */
function runKilled(script: string): void {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '../..'),
  });
  expect(child.signal).toBe('SIGKILL');
}

describe('redo log recovery', () => {
  it("applies a dead process's frames once, stops at a line cut short by the kill, and removes the log", () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'cadre-redo-')), 'cadre.db');
    openCadreStore({ path: dbPath }).close();
    const log = leaveLog(dbPath, deadPid(), 'a', [frame(1, 1), frame(2, 2), frame(3, 3).slice(0, 20)]);
    expect(seqs(dbPath)).toEqual([1, 2]);
    expect(existsSync(log)).toBe(false);
    // Opened again: nothing applied twice.
    expect(seqs(dbPath)).toEqual([1, 2]);
  });

  it('skips the frames a commit of the dead process already recorded as held by SQLite', () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'cadre-redo-')), 'cadre.db');
    const store = openCadreStore({ path: dbPath });
    const pid = deadPid();
    // Its commit held frame 1 (the event was deleted since, so a re-apply would show).
    store.db.prepare('INSERT INTO redo_applied (log, frame, at) VALUES (?, 1, ?)').run(`${pid}-b`, Date.now());
    store.close();
    leaveLog(dbPath, pid, 'b', [frame(1, 1), frame(2, 2)]);
    expect(seqs(dbPath)).toEqual([2]);
  });

  it('refuses to open with store_failed when a log cannot be applied, and keeps the log and the database as they were', () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'cadre-redo-')), 'cadre.db');
    openCadreStore({ path: dbPath }).close();
    const dir = `${dbPath}-redo`;
    mkdirSync(dir, { recursive: true });
    const pid = deadPid();
    const log = join(dir, `${pid}-d.log`);
    const bad = JSON.stringify(['sql', 1, 'INSERT INTO no_such_table (x) VALUES (?)']);
    writeFileSync(
      log,
      [
        JSON.stringify(['cadre-redo', 1, pid, null]),
        JSON.stringify(['sql', 0, insertEvent]),
        frame(1, 1),
        bad,
        JSON.stringify([2, [[1, 'x']]]),
      ].join('\n'),
    );
    expect(() => openCadreStore({ path: dbPath })).toThrow(expect.objectContaining({ code: 'store_failed' }));
    expect(existsSync(log)).toBe(true);
    const raw = new Database(dbPath, { readonly: true });
    expect(raw.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 0 });
    raw.close();
  });

  it('gives back, after a kill, event bodies exactly as they were stored: quotes, new lines and any character', () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'cadre-redo-')), 'cadre.db');
    const text = 'say "hi"\n\ttab \\ back\u2028sep \u00e9\u{1F600} {"nested": [1, "two"]}';
    // A process that makes the event durable (a model.response is a durability point), then dies
    // before SQLite commits: only the redo log holds it.
    const script = `
      import { openCadreStore } from './src/runtime/store/index.js';
      const store = openCadreStore({ path: ${JSON.stringify(dbPath)} });
      store.events.append({ type: 'model.response', runId: 'run_r', seq: 1, ts: 5, text: ${JSON.stringify(text)}, n: 1.5e-7 });
      process.kill(process.pid, 'SIGKILL');
    `;
    runKilled(script);
    const peek = new Database(dbPath, { readonly: true });
    expect(peek.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 0 });
    peek.close();
    const store = openCadreStore({ path: dbPath });
    try {
      expect(store.events.read('run_r')).toEqual([
        { type: 'model.response', runId: 'run_r', seq: 1, ts: 5, text, n: 1.5e-7 },
      ]);
    } finally {
      store.close();
    }
  });

  it('gives back, after a kill, a frame too large for the reused buffer, the frames after it, and audit arguments as stored', () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'cadre-redo-')), 'cadre.db');
    // 400,000 UTF-16 units of two- and four-byte characters: more than the 1 MB buffer frames reuse.
    const repeat = ['\u00e9\u{1F600}', 133_334] as const;
    const large = repeat[0].repeat(repeat[1]);
    const args = { path: 'a "quoted"\nname \u00e9', n: [1, 2.5, -0, 1e21], nested: { ok: true } };
    const script = `
      import { openCadreStore, WriteBatch } from './src/runtime/store/index.js';
      import { AuditLog } from './tools/policy/index.js';
      const store = openCadreStore({ path: ${JSON.stringify(dbPath)} });
      const batch = WriteBatch.of(store.db);
      const audit = new AuditLog(store.db, () => 7, (statement, params, json) => batch.run(statement, params, 'run_r', json));
      store.events.append({ type: 'model.response', runId: 'run_r', seq: 1, ts: 5, text: 'small' });
      store.events.append({ type: 'model.response', runId: 'run_r', seq: 2, ts: 5, text: ${JSON.stringify(repeat[0])}.repeat(${repeat[1]}) });
      audit.record({ runId: 'run_r', taskId: 'main', tool: 'read_file', args: ${JSON.stringify(args)}, decision: 'allow' });
      store.events.append({ type: 'model.response', runId: 'run_r', seq: 3, ts: 5, text: 'after' });
      process.kill(process.pid, 'SIGKILL');
    `;
    runKilled(script);
    const store = openCadreStore({ path: dbPath });
    try {
      expect(store.events.read('run_r').map((e) => (e as unknown as { text: string }).text)).toEqual([
        'small',
        large,
        'after',
      ]);
      const row = store.db.prepare('SELECT args_redacted FROM tool_audit').get() as { args_redacted: string };
      expect(row.args_redacted).toBe(JSON.stringify(args));
    } finally {
      store.close();
    }
  });

  it('applies the log of a killed process that its parent has not reaped yet (a zombie)', async () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'cadre-redo-')), 'cadre.db');
    openCadreStore({ path: dbPath }).close();
    // `sleep 0` ends at once, and the shell that started it becomes `sleep 10`, which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 10']);
    try {
      const pid = Number(
        await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))),
      );
      const state = () => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0];
      for (let i = 0; i < 100 && state() !== 'Z'; i++) await new Promise((r) => setTimeout(r, 10));
      expect(state()).toBe('Z');
      const log = leaveLog(dbPath, pid, 'z', [frame(1, 1)]);
      expect(seqs(dbPath)).toEqual([1]);
      expect(existsSync(log)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it("keeps a killed process's held-back event and journal inserts up to its last durability point, none after it", () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'cadre-redo-')), 'cadre.db');
    // The reply's journal step and event are held for the commit; the event's durability point puts
    // both in the redo log. The tool call's event after it is held, not yet durable, when the kill comes.
    const script = `
      import { openCadreStore } from './src/runtime/store/index.js';
      const store = openCadreStore({ path: ${JSON.stringify(dbPath)} });
      store.steps.append({ kind: 'model', runId: 'run_r', taskId: 'main#1', index: 0, model: 'm', content: 'call it', toolCalls: [], usage: { inputTokens: 1, outputTokens: 1 }, costUsd: 0 });
      store.events.append({ type: 'model.response', runId: 'run_r', seq: 1, ts: 5 });
      store.events.append({ type: 'tool.called', runId: 'run_r', seq: 2, ts: 6 });
      process.kill(process.pid, 'SIGKILL');
    `;
    runKilled(script);
    const store = openCadreStore({ path: dbPath });
    try {
      expect(store.events.read('run_r').map((e) => e.type)).toEqual(['model.response']);
      expect(store.steps.replay('run_r', 'main#1')).toEqual([
        expect.objectContaining({ index: 0, content: 'call it' }),
      ]);
    } finally {
      store.close();
    }
  });

  it('holds event and journal inserts until the commit: its own reads see them, another connection once the event loop turns', async () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'cadre-redo-')), 'cadre.db');
    const store = openCadreStore({ path: dbPath });
    const peek = new Database(dbPath, { readonly: true });
    const count = (table: string) => (peek.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    try {
      store.events.append({ type: 'run.started', runId: 'run_q', seq: 1, ts: 1 } as never);
      store.events.append({ type: 'task.started', runId: 'run_q', seq: 2, ts: 2 } as never);
      // Written again at the same seq: the later write is the one kept, as when each ran at once.
      store.events.append({ type: 'task.failed', runId: 'run_q', seq: 2, ts: 3 } as never);
      store.steps.append({
        kind: 'tool',
        runId: 'run_q',
        taskId: 'main#1',
        index: 0,
        callId: 'c1',
        tool: 't',
        ok: true,
        output: 'x',
      } as never);
      const raw = (sql: string) => store.db.prepare(sql).all();
      expect(raw('SELECT seq FROM events')).toEqual([]);
      expect(store.events.read('run_q').map((e) => e.type)).toEqual(['run.started', 'task.failed']);
      expect(store.steps.replayRun('run_q').get('main#1')).toHaveLength(1);
      expect(store.events.nextSeq('run_q')).toBe(3);
      expect(count('events')).toBe(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(count('events')).toBe(2);
      expect(count('steps')).toBe(1);
      // Held again, and committed by close() as well.
      store.events.append({ type: 'run.completed', runId: 'run_q', seq: 3, ts: 4 } as never);
    } finally {
      store.close();
    }
    expect(count('events')).toBe(3);
    peek.close();
  });

  it('holds audit rows for the commit, applied before an audit log lists them; a row that would fail later fails at once', () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'cadre-redo-')), 'cadre.db');
    const store = openCadreStore({ path: dbPath });
    const batch = WriteBatch.of(store.db);
    const audit = new AuditLog(
      store.db,
      () => 7,
      (statement, params, json, nullable) => batch.queue(statement, params, 'run_a', json, nullable),
    );
    try {
      audit.record({ runId: 'run_a', taskId: 'main', tool: 'read_file', args: { path: 'a' }, decision: 'allowed' });
      expect(store.db.prepare('SELECT count(*) AS n FROM tool_audit').get()).toEqual({ n: 0 });
      expect(new AuditLog(store.db).list({ runId: 'run_a' })).toEqual([
        expect.objectContaining({ tool: 'read_file', args: { path: 'a' }, decision: 'allowed', at: 7 }),
      ]);
      // A null where the table allows none is not held: the insert runs, and fails, at the call.
      expect(() =>
        audit.record({ runId: 'run_a', taskId: 'main', tool: null as never, args: {}, decision: 'allowed' }),
      ).toThrow(/NOT NULL/);
      expect(new AuditLog(store.db).list({ runId: 'run_a' })).toHaveLength(1);
    } finally {
      store.close();
    }
  });

  it('leaves the log of a live process to its writer', () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'cadre-redo-')), 'cadre.db');
    openCadreStore({ path: dbPath }).close();
    const log = leaveLog(dbPath, process.pid, 'c', [frame(1, 1)]);
    expect(seqs(dbPath)).toEqual([]);
    expect(existsSync(log)).toBe(true);
  });

  it('makes a durability point with one append and no commit, and removes its log when the store closes', () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'cadre-redo-')), 'cadre.db');
    const store = openCadreStore({ path: dbPath });
    store.events.reserve('run_r', 5);
    // Durable, yet not committed: another connection does not see it before the event loop turns.
    const peek = new Database(dbPath, { readonly: true });
    expect(peek.prepare('SELECT count(*) AS n FROM event_seq').get()).toEqual({ n: 0 });
    const dir = `${dbPath}-redo`;
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^\d+-[0-9a-f]+\.log$/)]);
    store.close();
    expect(peek.prepare('SELECT count(*) AS n FROM event_seq').get()).toEqual({ n: 1 });
    expect(readdirSync(dir)).toEqual([]);
    peek.close();
  });
});
