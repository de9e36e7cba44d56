import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openCadreStore } from 'cadre';
import { enqueue, openJobQueue } from 'cadre/jobs';
import app from '../fixtures/jobs-app.js';
import { withOsUser } from '../fixtures/postgres-url.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const appPath = join(root, 'test/fixtures/jobs-app.ts');
const databaseUrl = process.env.CADRE_DATABASE_URL;
if (!databaseUrl)
  process.stdout.write(
    'worker processes on PostgreSQL skipped: set CADRE_DATABASE_URL (e.g. postgres://127.0.0.1:5432/test)\n',
  );

interface WorkerLine {
  type: string;
  jobId?: string;
  reason?: string;
  epoch?: number;
}

/** A `cadre worker --json` process on the test's data folder; its JSON lines are collected as they come. */
function startWorker(dataDir: string, env: Record<string, string>, extra: string[] = []) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'worker',
      '--json',
      '--lease',
      '1000',
      '--app',
      appPath,
      '--data',
      dataDir,
      ...extra,
    ],
    { cwd: root, env: { ...process.env, NO_COLOR: '1', CADRE_DATABASE_PATH: '', ...env } },
  );
  const lines: WorkerLine[] = [];
  let buffer = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    for (const part of parts) if (part.trim()) lines.push(JSON.parse(part) as WorkerLine);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, lines, exited, stderr: () => stderr };
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const signal = (child: ChildProcess, name: NodeJS.Signals) => child.kill(name);

/** A run's stored rows: its events, its task outcomes (plan revisions aside) and its tool calls. */
interface StoredRows {
  events: Array<{ type: string; seq: number }>;
  outcomes: number;
  toolCalls: Array<{ tool: string; state: string }>;
}

/** Where the workers keep the runs, and how the test reads them back, as another process sees them. */
interface RunsUnderTest {
  /** The env every worker process gets: which run store, and where. */
  env: Record<string, string>;
  /** The run's stored rows, read straight from the store. */
  stored(runId: string): Promise<StoredRows>;
  /** The run's status as its record holds it, or undefined when there is no record. */
  status(runId: string): Promise<string | undefined>;
  /** Asserts the run is kept in this store and nowhere else the test can see. */
  expectKeptHere(runId: string): Promise<void>;
}

/** Reads `sql` from the SQLite file (read-only), as another process sees it. */
function readFile<T>(databasePath: string, read: (db: Database.Database) => T): T {
  const db = new Database(databasePath, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** The run's rows in the SQLite file's `events` table (0 when the file has no such table). */
const fileEventCount = (databasePath: string, runId: string) =>
  readFile(databasePath, (db) =>
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").get()
      ? db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM events WHERE run_id = ?').get(runId)!.n
      : 0,
  );

/** Runs in the embedded SQLite file of the data folder, beside the job queue. */
function sqliteRuns(databasePath: string): RunsUnderTest {
  return {
    env: { CADRE_RUN_STORE: 'sqlite' },
    stored: async (runId) =>
      readFile(databasePath, (db) => ({
        events: db
          .prepare<[string], { type: string; seq: number }>(
            'SELECT type, seq FROM events WHERE run_id = ? ORDER BY seq',
          )
          .all(runId),
        outcomes: db
          .prepare<[string], { n: number }>(
            "SELECT COUNT(*) AS n FROM task_outcomes WHERE run_id = ? AND task_id != '#revision'",
          )
          .get(runId)!.n,
        toolCalls: db
          .prepare<[string], { tool: string; state: string }>('SELECT tool, state FROM tool_calls WHERE run_id = ?')
          .all(runId),
      })),
    status: async (runId) => openCadreStore({ path: databasePath }).runs.get(runId)?.status,
    expectKeptHere: async (runId) => {
      expect(fileEventCount(databasePath, runId)).toBeGreaterThan(0);
    },
  };
}

// PostgreSQL errors the schema's readers meet before the first worker has created the schema and its tables.
const notCreatedYet = new Set(['3F000', '42P01']); // invalid_schema_name, undefined_table

/**
 * Runs in a fresh PostgreSQL schema of this test's own (the workers create it), dropped when the test
 * ends; the job queue stays in the SQLite file of the data folder.
 */
async function postgresRuns(databasePath: string): Promise<RunsUnderTest> {
  const schema = `cadre_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: withOsUser(databaseUrl!) });
  await client.connect();
  onTestFinished(async () => {
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  });
  const rows = async <R extends pg.QueryResultRow>(sql: string, runId: string): Promise<R[]> => {
    try {
      return (await client.query<R>(sql, [runId])).rows;
    } catch (error) {
      if (notCreatedYet.has((error as { code?: string }).code ?? '')) return [];
      throw error;
    }
  };
  const status = async (runId: string) =>
    (await rows<{ status: string }>(`SELECT status FROM ${schema}.cadre_runs WHERE id = $1`, runId))[0]?.status;
  return {
    env: { CADRE_RUN_STORE: 'postgres', CADRE_DATABASE_URL: databaseUrl!, CADRE_DATABASE_SCHEMA: schema },
    stored: async (runId) => ({
      events: await rows<{ type: string; seq: number }>(
        `SELECT type, seq FROM ${schema}.cadre_events WHERE run_id = $1 ORDER BY seq`,
        runId,
      ),
      outcomes:
        (
          await rows<{ n: number }>(
            `SELECT COUNT(*)::int AS n FROM ${schema}.cadre_task_outcomes WHERE run_id = $1 AND task_id != '#revision'`,
            runId,
          )
        )[0]?.n ?? 0,
      toolCalls: await rows<{ tool: string; state: string }>(
        `SELECT tool, state FROM ${schema}.cadre_tool_calls WHERE run_id = $1`,
        runId,
      ),
    }),
    status,
    expectKeptHere: async (runId) => {
      // The run's record is in the schema; the SQLite file (where the queue lives) has none of its events.
      expect(await status(runId)).toBe('completed');
      expect(existsSync(databasePath)).toBe(true);
      expect(fileEventCount(databasePath, runId)).toBe(0);
    },
  };
}

const stores: Array<{ name: string; enabled: boolean; open: (databasePath: string) => Promise<RunsUnderTest> }> = [
  { name: 'the embedded SQLite file', enabled: true, open: async (databasePath) => sqliteRuns(databasePath) },
  { name: 'PostgreSQL', enabled: Boolean(databaseUrl), open: postgresRuns },
];

describe.each(stores.map((store) => [store.name, store] as const))(
  'workers in separate processes, runs in %s',
  (_name, { enabled, open }) => {
    it.skipIf(!enabled)(
      'a worker paused past its lease (SIGSTOP) is refused at its next write once resumed: nothing is done or written twice',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'cadre-stale-'));
        const databasePath = join(dir, 'cadre.db');
        const lines = join(dir, 'lines.txt');
        const runs = await open(databasePath);
        const { job } = await enqueue({ agent: 'append', goal: 'line-1' }, { app, config: { databasePath } });

        // A takes the job, appends its line, then waits in a slow read tool; there it is stopped.
        const a = startWorker(dir, { ...runs.env, CADRE_TEST_LINES: lines, CADRE_TEST_WAIT_MS: '2500' });
        try {
          await until(() => existsSync(lines) && readFileSync(lines, 'utf8').includes('line-1'), 'worker A to append');
          await until(async () => {
            const rows = await runs.stored(job.runId);
            return (
              rows.events.some((e) => e.type === 'tool.called' && e.seq > 0) &&
              rows.toolCalls.some((c) => c.tool === 'append_line' && c.state === 'completed')
            );
          }, 'the append to be recorded');
          await new Promise((r) => setTimeout(r, 100));
          signal(a.child, 'SIGSTOP');

          // B finds the lease expired, takes the job with a newer epoch and finishes the run from its journal.
          await new Promise((r) => setTimeout(r, 1300));
          const b = startWorker(dir, { ...runs.env, CADRE_TEST_LINES: lines, CADRE_TEST_WAIT_MS: '50' }, [
            '--until-idle',
          ]);
          expect(await b.exited, b.stderr()).toBe(0);
          expect(b.lines.find((l) => l.type === 'job.settled')).toMatchObject({ jobId: job.id, state: 'completed' });
          const before = await runs.stored(job.runId);
          expect(before.events.filter((e) => e.type === 'run.completed')).toHaveLength(1);

          // A wakes up: its slow tool returns, its next write (or heartbeat) finds the newer lease, and it stops.
          signal(a.child, 'SIGCONT');
          await until(() => a.lines.some((l) => l.type === 'job.lost'), 'worker A to report its lease lost');
          const lost = a.lines.find((l) => l.type === 'job.lost')!;
          expect(lost).toMatchObject({ jobId: job.id, epoch: 1 });
          await new Promise((r) => setTimeout(r, 300));
          const after = await runs.stored(job.runId);
          expect(after.events).toEqual(before.events);
          expect(after.outcomes).toBe(1);
          expect(readFileSync(lines, 'utf8')).toBe('line-1\n');
          const done = (await openJobQueue({ databasePath }).get(job.id))!;
          expect(done).toMatchObject({ state: 'completed', epoch: 2 });
          await runs.expectKeptHere(job.runId);
        } finally {
          signal(a.child, 'SIGCONT');
          signal(a.child, 'SIGKILL');
          await a.exited;
        }
      },
      60_000,
    );

    it.skipIf(!enabled)(
      'a job whose worker is killed (kill -9) is continued by another worker from its checkpoint once the lease runs out',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'cadre-kill-'));
        const databasePath = join(dir, 'cadre.db');
        const lines = join(dir, 'lines.txt');
        const runs = await open(databasePath);
        const { job } = await enqueue({ agent: 'append', goal: 'line-k' }, { app, config: { databasePath } });
        const a = startWorker(dir, { ...runs.env, CADRE_TEST_LINES: lines, CADRE_TEST_WAIT_MS: '5000' });
        try {
          await until(
            async () =>
              (await runs.stored(job.runId)).toolCalls.some((c) => c.tool === 'append_line' && c.state === 'completed'),
            'the append to be recorded',
          );
        } finally {
          signal(a.child, 'SIGKILL');
          await a.exited;
        }
        const killedAt = Date.now();
        const b = startWorker(dir, { ...runs.env, CADRE_TEST_LINES: lines, CADRE_TEST_WAIT_MS: '0' }, ['--until-idle']);
        expect(await b.exited, b.stderr()).toBe(0);
        // B waited for the lease to run out (1 s), no more than a few polls beyond it.
        expect(Date.now() - killedAt).toBeLessThan(10_000);
        const done = (await openJobQueue({ databasePath }).get(job.id))!;
        expect(done).toMatchObject({ state: 'completed', attempts: 2, epoch: 2 });
        expect(readFileSync(lines, 'utf8')).toBe('line-k\n');
        expect(await runs.status(job.runId)).toBe('completed');
        expect((await runs.stored(job.runId)).events.filter((e) => e.type === 'run.completed')).toHaveLength(1);
        await runs.expectKeptHere(job.runId);
      },
      60_000,
    );
  },
);
