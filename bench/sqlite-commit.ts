/**
 * sqlite-commit: what one durable step costs SQLite on this machine, before any of cadre's own work.
 * A step of `run()` (a tool call and the next model reply) commits once, in WAL mode with
 * synchronous=NORMAL (kill -9 safe), writing rows the size a real step writes (~1.3 KB). Layouts:
 *   cadre today   three events, two journal steps, one audit row: four B-trees (events, steps,
 *                 tool_audit and its run index), as in the run store
 *   one table     the same six rows in one append-only table keyed (run, n)
 *   one row       the step as a single row of one table
 *   rowid append  a single row appended to a rowid table (the floor: one page, no key to place)
 * Each layout on a fresh database file; p50 and mean over `--steps` commits, three repeats
 * (min / median / max). The mean carries the WAL checkpoints (every ~1,000 pages) the p50 leaves out.
 * Prints a table and writes bench/results/sqlite-commit.json.
 *
 *   npm run bench:sqlite [-- --steps 15000 --repeats 3]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { numberFlag, percentile, printTable, showSpread, spread, type Spread } from './bench-kit.js';

const steps = numberFlag('--steps', 15_000);
const repeats = numberFlag('--repeats', 3);

// Sizes of a real step's rows (tool.called, tool.result, model.response; the tool and model steps).
const event = 'e'.repeat(240);
const step = 's'.repeat(230);
const stepsPerRun = 11;
const runOf = (i: number) => `run_0mxbpaw3z00a66b7${String(Math.floor(i / stepsPerRun)).padStart(6, '0')}`;

type Layout = (db: Database.Database) => (i: number) => void;

const layouts: Record<string, Layout> = {
  'cadre today (4 B-trees)': (db) => {
    db.exec(`CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL,
               body TEXT NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID`);
    db.exec(`CREATE TABLE steps (run_id TEXT NOT NULL, task_key TEXT NOT NULL, idx INTEGER NOT NULL, body TEXT NOT NULL,
               PRIMARY KEY (run_id, task_key, idx)) WITHOUT ROWID`);
    db.exec(`CREATE TABLE tool_audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, run_id TEXT NOT NULL, task_id TEXT NOT NULL,
               agent TEXT, tool TEXT NOT NULL, args_redacted TEXT NOT NULL, decision TEXT NOT NULL, duration_ms REAL,
               result_size INTEGER, error TEXT)`);
    db.exec('CREATE INDEX tool_audit_run ON tool_audit (run_id, id)');
    const e = db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?)');
    const s = db.prepare('INSERT INTO steps VALUES (?, ?, ?, ?)');
    const a = db.prepare(
      'INSERT INTO tool_audit (at, run_id, task_id, agent, tool, args_redacted, decision, duration_ms, result_size, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    return (i) => {
      const run = runOf(i);
      e.run(run, 3 * i, 'tool.called', i, event);
      a.run(i, run, 'main', 'a', 'add', '{"a":1,"b":2}', 'allowed', 0.1, 1, null);
      e.run(run, 3 * i + 1, 'tool.result', i, event);
      s.run(run, 'main', 2 * i, step);
      s.run(run, 'main', 2 * i + 1, step);
      e.run(run, 3 * i + 2, 'model.response', i, event);
    };
  },
  'one table, six rows': (db) => {
    db.exec(`CREATE TABLE log (run_id TEXT NOT NULL, n INTEGER NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
               PRIMARY KEY (run_id, n)) WITHOUT ROWID`);
    const l = db.prepare('INSERT INTO log VALUES (?, ?, ?, ?)');
    return (i) => {
      const run = runOf(i);
      for (let j = 0; j < 6; j++) l.run(run, 6 * i + j, j < 3 ? 'event' : 'step', j < 3 ? event : step);
    };
  },
  'one table, one row': (db) => {
    db.exec(`CREATE TABLE log (run_id TEXT NOT NULL, n INTEGER NOT NULL, body TEXT NOT NULL,
               PRIMARY KEY (run_id, n)) WITHOUT ROWID`);
    const l = db.prepare('INSERT INTO log VALUES (?, ?, ?)');
    const body = event.repeat(3) + step.repeat(2) + '{}';
    return (i) => l.run(runOf(i), i, body);
  },
  'rowid append, one row': (db) => {
    db.exec('CREATE TABLE log (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    const l = db.prepare('INSERT INTO log (body) VALUES (?)');
    const body = event.repeat(3) + step.repeat(2) + '{}';
    return () => l.run(body);
  },
};

/** p50 and mean µs of one step's commit, on a fresh WAL database. */
function measure(layout: Layout): { p50: number; mean: number } {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-bench-sqlite-'));
  const db = new Database(join(dir, 'bench.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const write = layout(db);
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const started = process.hrtime.bigint();
    begin.run();
    write(i);
    commit.run();
    times.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  db.close();
  rmSync(dir, { recursive: true, force: true });
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return {
    p50: percentile(
      times.sort((a, b) => a - b),
      0.5,
    ),
    mean,
  };
}

const show = (v: Spread) => showSpread(v, 1);

const results = Object.entries(layouts).map(([name, layout]) => {
  const rounds = Array.from({ length: repeats }, () => measure(layout));
  return { layout: name, p50Us: spread(rounds.map((r) => r.p50)), meanUs: spread(rounds.map((r) => r.mean)) };
});
console.log(
  `sqlite-commit: ${steps} one-step commits per layout, WAL + synchronous=NORMAL, ${repeats} repeats, Node ${process.version}\n`,
);
printTable(
  ['layout', 'p50 µs per step', 'mean µs per step'],
  results.map((r) => [r.layout, show(r.p50Us), show(r.meanUs)]),
);
const out = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(
  `${out}sqlite-commit.json`,
  `${JSON.stringify({ bench: 'sqlite-commit', node: process.version, steps, repeats, results }, null, 2)}\n`,
);
