// An SSE client of a server follows a run that a `cadre worker` in another OS process carries out,
// with runs in PostgreSQL: the server has no handle of the run and follows its stored events, woken
// by LISTEN/NOTIFY when the worker's writes commit (src/server/http/run-service.ts `events()`).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApi, serveHttpApi, type HttpApiServing } from '../../../src/server/http/index.js';
import { closePostgresRuns, type CadreEvent } from 'cadre';
import { enqueue } from 'cadre/jobs';
import app from '../../fixtures/jobs-app.js';
import { withOsUser } from '../../fixtures/postgres-url.js';
import { open, parseFrames, type Frame } from './http-fixtures.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const appPath = join(root, 'test/fixtures/jobs-app.ts');
const url = process.env.CADRE_DATABASE_URL;
if (!url)
  process.stdout.write(
    'SSE following of worker runs on PostgreSQL skipped: set CADRE_DATABASE_URL (e.g. postgres://127.0.0.1:5432/test)\n',
  );

// Every test has a schema of its own, dropped at the end, with its own server and worker process.
const schemas: string[] = [];
const servings: HttpApiServing[] = [];
const workers: Array<{ child: ChildProcess; exited: Promise<number | null> }> = [];
const clients: pg.Client[] = [];
let admin: pg.Client | undefined;

beforeAll(async () => {
  if (!url) return;
  admin = new pg.Client({ connectionString: withOsUser(url) });
  await admin.connect();
});
afterAll(async () => {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exited));
  await Promise.all(servings.map((s) => s.close()));
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await closePostgresRuns();
  if (!admin) return;
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

const sql = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) =>
  (await admin!.query<R>(text, values)).rows;

/** The run's rows in `cadre_events`, in seq order, each as its seq and its stored event. */
const storedEvents = async (schema: string, runId: string) =>
  (
    await sql<{ seq: number; body: string }>(
      `SELECT seq, body FROM ${schema}.cadre_events WHERE run_id = $1 ORDER BY seq`,
      [runId],
    )
  ).map((row) => ({ seq: row.seq, event: JSON.parse(row.body) as CadreEvent }));

/** The highest seq stored for the run right now (0 for none). */
const maxSeq = async (schema: string, runId: string) =>
  (
    await sql<{ seq: number | null }>(`SELECT max(seq) AS seq FROM ${schema}.cadre_events WHERE run_id = $1`, [runId])
  )[0]?.seq ?? 0;

/** Whether the run's `run.completed` row is committed. */
const completedStored = async (schema: string, runId: string) =>
  (
    await sql<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM ${schema}.cadre_events WHERE run_id = $1 AND type = 'run.completed'`,
      [runId],
    )
  )[0]!.n > 0;

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A `cadre worker --json --until-idle` process on `dataDir`, its runs in the PostgreSQL schema. */
function startWorker(dataDir: string, env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--json', '--until-idle', '--app', appPath, '--data', dataDir],
    { cwd: root, env: { ...process.env, NO_COLOR: '1', CADRE_DATABASE_PATH: '', CADRE_JOB_QUEUE: 'sqlite', ...env } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  workers.push({ child, exited });
  return { child, exited, output: () => `${stdout}\n${stderr}` };
}

/**
 * A server in this process, its runs in a fresh schema and running no jobs itself; a job of the
 * `append` agent queued in a separate data folder, and a worker process that carries it out, its slow
 * `wait` tool keeping the run going for `waitMs`. Resolves once the server reports the run `running`.
 */
async function serverAndWorker(waitMs: number, beforeWorker?: (runId: string, schema: string) => Promise<void>) {
  const schema = `cadre_test_${randomBytes(6).toString('hex')}`;
  schemas.push(schema);
  const serverDir = mkdtempSync(join(tmpdir(), 'cadre-pg-follow-server-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'cadre-pg-follow-worker-'));
  const api = createHttpApi({
    app,
    config: {
      runStore: 'postgres',
      databaseUrl: url!,
      databaseSchema: schema,
      databasePath: join(serverDir, 'cadre.db'),
    },
    server: { port: 0, workers: 0 },
  });
  const serving = await serveHttpApi(api);
  servings.push(serving);
  const key = (await api.keys.create({ name: 'follower', admin: true })).key;
  const headers = { Host: new URL(serving.url).host, Authorization: `Bearer ${key}` };

  const { job } = await enqueue(
    { agent: 'append', goal: `line-${schema}` },
    { app, config: { databasePath: join(dataDir, 'cadre.db') } },
  );
  const runId = job.runId;
  await beforeWorker?.(runId, schema);
  const worker = startWorker(dataDir, {
    CADRE_RUN_STORE: 'postgres',
    CADRE_DATABASE_URL: url!,
    CADRE_DATABASE_SCHEMA: schema,
    CADRE_TEST_LINES: join(dataDir, 'lines.txt'),
    CADRE_TEST_WAIT_MS: String(waitMs),
  });

  // The run exists once the worker has created it in the schema: the server reads it from there.
  await until(async () => {
    if (worker.child.exitCode !== null) throw new Error(`the worker exited early: ${worker.output()}`);
    const response = await fetch(`${serving.url}/runs/${runId}`, { headers });
    if (response.status === 404) return false;
    expect(response.status).toBe(200);
    const run = (await response.json()) as { status: string };
    expect(run.status).toBe('running');
    return true;
  }, 'the worker to start the run');
  // Not this server's run: it has no handle of it, so its stream follows the store.
  expect(api.runs.handle(runId)).toBeUndefined();
  return { api, serving, headers, runId, schema, worker };
}

interface Received {
  frame: Frame;
  /** When the frame was wholly received (Date.now()). */
  at: number;
}

/**
 * Reads an SSE response as it arrives, stamping each complete frame with its arrival time. `ended`
 * resolves once the server ends the stream; `cut()` drops the connection from the client side.
 */
function read(response: IncomingMessage) {
  let text = '';
  let cut = false;
  let done = false;
  const received: Received[] = [];
  const ended = new Promise<Received[]>((resolve, reject) => {
    response.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const frames = parseFrames(text);
      const at = Date.now();
      for (const frame of frames.slice(received.length)) received.push({ frame, at });
    });
    response.once('end', () => resolve(received));
    // A connection the client dropped itself ends with what it had.
    response.once('error', (error) => (cut ? resolve(received) : reject(error)));
  }).finally(() => (done = true));
  return {
    received,
    ended,
    /** The run's own events received so far (frames with an id). */
    events: () => received.filter((r) => r.frame.id !== undefined),
    /** Whether the stream is over. */
    done: () => done,
    cut: () => {
      cut = true;
      response.socket.destroy();
    },
  };
}

/** Opens GET /runs/:id/events, from `lastEventId` on when given. */
async function follow(
  serving: HttpApiServing,
  headers: Record<string, string>,
  runId: string,
  lastEventId?: number,
): Promise<ReturnType<typeof read>> {
  const response = await open(`${serving.url}/runs/${runId}/events`, {
    headers: { ...headers, ...(lastEventId !== undefined ? { 'Last-Event-ID': String(lastEventId) } : {}) },
  });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
  return read(response);
}

/**
 * The highest seq stored once the stream's first event frame has arrived. The server read the run's
 * stored events before it sent that frame, so every event received with a higher seq was stored
 * after the server's first read: the stream followed the run, it did not just replay it.
 */
async function storedAtFirstFrame(stream: ReturnType<typeof read>, schema: string, runId: string) {
  await until(() => stream.events().length > 0 || stream.done(), 'the first frame');
  expect(stream.events().length, 'the stream ended before sending any event').toBeGreaterThan(0);
  return maxSeq(schema, runId);
}

/** Asserts the frames are the run's whole stored log: seq order, no gap, no duplicate, same events. */
async function expectTheStoredLog(schema: string, runId: string, frames: Frame[]) {
  const stored = await storedEvents(schema, runId);
  const events = frames.filter((f) => f.id !== undefined);
  expect(stored.length).toBeGreaterThan(5);
  // The store's own seqs have no gap: 1..n.
  expect(stored.map((row) => row.seq)).toEqual(stored.map((_, i) => i + 1));
  expect(events.map((f) => f.id)).toEqual(stored.map((row) => row.seq));
  expect(events.map((f) => f.data)).toEqual(stored.map((row) => row.event));
  expect(events.map((f) => f.data.seq)).toEqual(events.map((f) => f.id));
  expect(events.at(-1)!.data).toMatchObject({ type: 'run.completed', runId, status: 'completed' });
  const end = frames.at(-1)!.data;
  expect(end).toEqual({ type: 'stream.end', runId, status: end.status, lastSeq: stored.at(-1)!.seq });
  expect(end.status).toBe('completed');
  expect(frames.filter((f) => f.data.type === 'stream.end')).toHaveLength(1);
  return stored;
}

describe.skipIf(!url)('SSE of a run a worker process carries out, runs in PostgreSQL', () => {
  it('streams the run live from the store, in seq order with no gap, to run.completed and stream.end', async () => {
    const { serving, headers, runId, schema, worker } = await serverAndWorker(2000);
    const connectedAt = Date.now();
    const stream = await follow(serving, headers, runId);
    const snapshot = await storedAtFirstFrame(stream, schema, runId);
    // The run is still going when the first frames are in: the rest is yet to be stored.
    expect(await completedStored(schema, runId)).toBe(false);

    const received = await stream.ended;
    const frames = received.map((r) => r.frame);
    const stored = await expectTheStoredLog(schema, runId, frames);
    // Events stored after the server's first read reached the client on the same connection.
    const later = received.filter((r) => r.frame.id !== undefined && r.frame.id > snapshot);
    expect(later.length).toBeGreaterThan(0);
    expect(later.map((r) => r.frame.data.type)).toContain('run.completed');
    // And they came as they were stored, not all at once at the end: the first frames arrived well
    // before the run's last event was emitted (the worker's `wait` tool sits between them).
    const completed = stored.at(-1)!.event;
    expect(received[0]!.at).toBeLessThan(completed.ts);
    expect(received.at(-1)!.at).toBeGreaterThanOrEqual(connectedAt);

    expect(await worker.exited, worker.output()).toBe(0);
    const run = (await (await fetch(`${serving.url}/runs/${runId}`, { headers })).json()) as { status: string };
    expect(run.status).toBe('completed');
  }, 60_000);

  it('resumes by Last-Event-ID after a disconnect mid-run: the rest, with no gap and no duplicate', async () => {
    const { serving, headers, runId, schema, worker } = await serverAndWorker(2500);
    const first = await follow(serving, headers, runId);
    await until(() => first.events().length >= 3 || first.done(), 'a few frames');
    expect(first.events().length, 'the stream ended before a few events').toBeGreaterThanOrEqual(3);
    first.cut();
    const seen = first.events().map((r) => r.frame);
    const lastId = seen.at(-1)!.id!;
    // Cut while the run was still going: its end was not stored yet.
    expect(await completedStored(schema, runId)).toBe(false);
    expect(seen.map((f) => f.data.type)).not.toContain('run.completed');
    await sleep(100);

    const second = await follow(serving, headers, runId, lastId);
    const snapshot = await storedAtFirstFrame(second, schema, runId);
    const rest = (await second.ended).map((r) => r.frame);
    // The reconnection starts right after the last frame seen, and follows the run as it goes on.
    expect(rest[0]!.id).toBe(lastId + 1);
    expect(rest.filter((f) => f.id !== undefined && f.id > snapshot).length).toBeGreaterThan(0);
    const all = [...seen, ...rest];
    const ids = all.flatMap((f) => (f.id !== undefined ? [f.id] : []));
    expect(new Set(ids).size).toBe(ids.length);
    await expectTheStoredLog(schema, runId, all);
    expect(await worker.exited, worker.output()).toBe(0);
  }, 60_000);

  it('is woken when the worker commits: the stream ends soon after the run.completed row is committed', async () => {
    // This test's own LISTEN connection sees each commit of the run's events as the server's does.
    const notified: number[] = [];
    const { serving, headers, runId, schema, worker } = await serverAndWorker(1500, async (id) => {
      const listener = new pg.Client({ connectionString: withOsUser(url!) });
      clients.push(listener);
      await listener.connect();
      listener.on('notification', (message) => {
        if (message.channel === 'cadre_events' && message.payload === id) notified.push(Date.now());
      });
      await listener.query('LISTEN cadre_events');
    });
    const connectedAt = Date.now();
    const stream = await follow(serving, headers, runId);
    const received = await stream.ended;
    const frames = received.map((r) => r.frame);
    const stored = await expectTheStoredLog(schema, runId, frames);
    expect(await worker.exited, worker.output()).toBe(0);

    // The worker process announced its writes; the last announcement is the commit of run.completed.
    expect(notified.length).toBeGreaterThan(0);
    const committedAt = notified.at(-1)!;
    const endAt = received.at(-1)!.at;
    const completedAt = received.find((r) => r.frame.data.type === 'run.completed')!.at;
    const emittedAt = stored.at(-1)!.event.ts;
    // Generous: a follower that is woken ends within milliseconds; one never woken would not end at all.
    expect(endAt - committedAt).toBeLessThan(5_000);
    // The same bound from the moment the worker emitted run.completed (before its commit): no clock doubt.
    expect(endAt - emittedAt).toBeLessThan(5_000);

    // For the record: how long after each commit (seen by this test's listener) the next frame came.
    const afterConnect = notified.filter((n) => n >= connectedAt);
    const delays = afterConnect.flatMap((n) => {
      const next = received.find((r) => r.frame.id !== undefined && r.at >= n);
      return next ? [next.at - n] : [];
    });
    process.stdout.write(
      `postgres-follow latency: run.completed row committed -> frame ${completedAt - committedAt} ms, ` +
        `-> stream.end ${endAt - committedAt} ms; emitted -> stream.end ${endAt - emittedAt} ms; ` +
        `${afterConnect.length} commits after connect, commit -> next frame ms: [${delays.join(', ')}]\n`,
    );
  }, 60_000);

  it('waits for the run’s record after its run.completed, and closes with the status the record then gives', async () => {
    // The worker stores run.completed, then updates the run's record. This test holds that update back
    // (a row lock on the record; nothing else of the run's writes touches it): the stream has every
    // event, run.completed included, and must not close until the record says how the run ended.
    const { serving, headers, runId, schema, worker } = await serverAndWorker(2000);
    await until(
      async () =>
        (
          await sql<{ n: number }>(
            `SELECT COUNT(*)::int AS n FROM ${schema}.cadre_tool_calls
             WHERE run_id = $1 AND tool = 'append_line' AND state = 'completed'`,
            [runId],
          )
        )[0]!.n > 0,
      'the append to be recorded',
    );
    const lock = new pg.Client({ connectionString: withOsUser(url!) });
    clients.push(lock);
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query(`SELECT 1 FROM ${schema}.cadre_runs WHERE id = $1 FOR UPDATE`, [runId]);
    let stream: Awaited<ReturnType<typeof follow>>;
    try {
      stream = await follow(serving, headers, runId);
      await until(() => stream.events().some((r) => r.frame.data.type === 'run.completed'), 'run.completed to arrive');
      // Longer than the server's look at the record (ssePollMs, 250 ms by default): still open.
      await new Promise((r) => setTimeout(r, 800));
      expect(stream.done()).toBe(false);
      expect(
        (await sql<{ status: string }>(`SELECT status FROM ${schema}.cadre_runs WHERE id = $1`, [runId]))[0],
      ).toEqual({ status: 'running' });
    } finally {
      await lock.query('ROLLBACK');
    }
    const frames = (await stream.ended).map((r) => r.frame);
    const stored = await storedEvents(schema, runId);
    expect(frames.filter((f) => f.id !== undefined).map((f) => f.data)).toEqual(stored.map((r) => r.event));
    expect(frames.at(-2)!.data).toMatchObject({ type: 'run.completed', status: 'completed' });
    expect(frames.at(-1)!.data).toEqual({ type: 'stream.end', runId, status: 'completed', lastSeq: frames.at(-2)!.id });
    expect(await worker.exited, worker.output()).toBe(0);
  }, 60_000);
});
