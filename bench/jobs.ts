/**
 * jobs: what cadre's job queues and workers cost, measured the way users run them — workers
 * as separate `cadre worker` processes (plain Node on the built package) over one SQLite file.
 *   raw queue      the queue alone in one process: lease + settle with an empty processor (the anchor)
 *   throughput     N queued single-task jobs (zero-latency scripted model) drained by 1 and by 4
 *                  worker processes (concurrency 16 each): jobs per second
 *   pickup         one idle, warmed-up worker; jobs queued one at a time: enqueue -> the run's first event
 *   recovery       a worker killed (SIGKILL) mid-job: kill -> the run resumed on another worker
 * With CADRE_REDIS_URL set, the same run adds BullMQ on that Redis, each measurement under a fresh prefix:
 *   raw BullMQ     BullMQ's own Queue + Worker in one process, an empty processor (the anchor):
 *                  jobs/s (addBulk, concurrency 16) and pickup (add -> processor start)
 *   cadre on it    the throughput and pickup above with `cadre worker` processes on the BullMQ queue
 *                  (runs in the SQLite file of the data folder); with CADRE_DATABASE_URL too, the
 *                  same with the runs in PostgreSQL (runStore postgres, a fresh schema), and the same
 *                  on PostgreSQL alone (no Redis: BullMQ's PostgreSQL backend, cadre's queue records
 *                  and the runs in PostgreSQL), the deployment with one engine
 * Three repeats; each cell is min / median / max. Prints tables and writes bench/results/jobs.json.
 *
 *   [CADRE_REDIS_URL=redis://… [CADRE_DATABASE_URL=postgres://…]] npm run bench:jobs [-- --jobs 2000 --repeats 3]
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import ts from 'typescript';
import { openCadreStore } from 'cadre';
import { bullmqSchema, createBullmqJobQueue, SqliteJobQueue, type JobQueue } from 'cadre/jobs';
import { fmt, numberFlag, percentile, printTable, showSpread, spread, type Spread } from './bench-kit.js';
import { deleteRedisPrefix } from '../test/fixtures/redis-keys.js';
import { dropSchema, freshPrefix, pgConfig, rawBullmqPickup, rawBullmqThroughput } from './jobs-bullmq.js';
import pg from 'pg';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const jobCount = numberFlag('--jobs', 2000);
const repeats = numberFlag('--repeats', 3);
const pickups = numberFlag('--pickups', 100);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const redisUrl = process.env.CADRE_REDIS_URL || undefined;
const databaseUrl = (redisUrl && process.env.CADRE_DATABASE_URL) || undefined;
// Each worker is told its queue explicitly: the embedded rows' workers must not pick up this shell's.
const workerEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^CADRE_(REDIS_URL|JOB_QUEUE|JOB_QUEUE_PREFIX|DATABASE_URL|DATABASE_SCHEMA|RUN_STORE)$/.test(name),
    ),
  ),
  // Runs in the data folder's file unless a measurement puts them in PostgreSQL.
  CADRE_RUN_STORE: 'sqlite',
  NO_COLOR: '1',
  CADRE_LOG_LEVEL: 'error',
};

/** Builds the package and compiles the bench's registry next to the results, as plain JS. */
function compileApp(): string {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  const out = join(root, 'bench/results/.child/');
  mkdirSync(out, { recursive: true });
  const { outputText } = ts.transpileModule(readFileSync(join(root, 'bench/jobs-app.ts'), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  writeFileSync(`${out}jobs-app.js`, outputText);
  return `${out}jobs-app.js`;
}

type Spawned = { child: ChildProcess; ready: Promise<void> };

/** A Node process on `args`, ready once it says it started. */
function spawnWorker(args: string[], env: Record<string, string> = {}): Spawned {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...workerEnv, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let said = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => (said += d.toString()).includes('started') && resolve());
    // A worker that dies before it starts is an error, not a bench that waits for ever.
    child.once('close', (code) => reject(new Error(`worker exited (${code}) before it started: ${said}`)));
  });
  return { child, ready };
}

/** A `cadre worker` process on the data folder `dir` (and on the queue `env` names, else the embedded one). */
const startWorker = (app: string, dir: string, extra: string[] = [], env: Record<string, string> = {}) =>
  spawnWorker([join(root, 'bin/cadre.js'), 'worker', '--app', app, '--data', dir, ...extra], env);

const stop = async (child: ChildProcess) => {
  const closed = new Promise((r) => child.once('close', r));
  child.kill('SIGKILL');
  await closed;
};

function queueIn(dir: string) {
  const store = openCadreStore({ path: join(dir, 'cadre.db') });
  return { store, queue: new SqliteJobQueue(store.db) };
}

/** Enqueues `n` jobs for `agent` in one transaction. */
function fill(dir: string, n: number, agent: string): void {
  const { store, queue } = queueIn(dir);
  store.db.transaction(() => {
    for (let i = 0; i < n; i++) void queue.enqueue({ agent, goal: `job ${i}` });
  })();
}

/** The raw queue: lease + settle, nothing run, in this process. */
async function rawQueue(n: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-bench-jobs-'));
  fill(dir, n, 'zero');
  const { queue } = queueIn(dir);
  const started = performance.now();
  for (;;) {
    const leased = await queue.lease({ worker: 'raw', leaseMs: 30_000 });
    if (!leased) break;
    await queue.settle(leased.job.id, leased.epoch, { kind: 'completed', result: { status: 'completed' } });
  }
  return n / ((performance.now() - started) / 1000);
}

/** Jobs per second of `workers` worker processes draining `n` queued jobs. */
async function throughput(app: string, n: number, workers: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-bench-jobs-'));
  queueIn(dir); // tables in place before the workers open the file
  const procs = Array.from({ length: workers }, () => startWorker(app, dir, ['--concurrency', '16']));
  await Promise.all(procs.map((p) => p.ready));
  fill(dir, n, 'zero');
  const started = performance.now();
  const db = new Database(join(dir, 'cadre.db'), { readonly: true });
  const done = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE state = 'completed'");
  while (done.get()!.n < n) await sleep(20);
  const seconds = (performance.now() - started) / 1000;
  db.close();
  await Promise.all(procs.map((p) => stop(p.child)));
  return n / seconds;
}

/** Where one measurement's jobs are: its queue, how to start a worker on it, and its clean-up. */
interface Target {
  queue: JobQueue;
  start(concurrency?: number): Spawned;
  /** When the run's first event was stored (ms since the epoch); default: read from the data folder's file. */
  firstEvent?(runId: string): Promise<number>;
  close(): Promise<void>;
}

const embeddedTarget = (app: string, dir: string): Target => ({
  queue: queueIn(dir).queue,
  start: (concurrency) => startWorker(app, dir, concurrency ? ['--concurrency', String(concurrency)] : []),
  close: async () => {},
});

/**
 * Where a BullMQ measurement keeps things: BullMQ on Redis with the runs in the data folder's SQLite
 * file (`sqlite`) or in PostgreSQL (`postgres-runs`), or everything in PostgreSQL (`postgres-alone`:
 * BullMQ's PostgreSQL backend, cadre's queue records and the runs).
 */
type BullmqSetup = 'sqlite' | 'postgres-runs' | 'postgres-alone';

/**
 * A BullMQ queue of its own (a fresh prefix, and a fresh schema for what goes to PostgreSQL), with
 * `cadre worker` processes configured as a user would, through the environment.
 */
function bullmqTarget(app: string, dir: string, setup: BullmqSetup = 'sqlite'): Target {
  const prefix = freshPrefix('cadre');
  const schema = prefix.replaceAll('-', '_');
  const alone = setup === 'postgres-alone';
  const bullSchema = bullmqSchema({ databaseSchema: schema, jobQueuePrefix: prefix });
  const queue = alone
    ? createBullmqJobQueue({
        prefix,
        postgres: { ...pgConfig(databaseUrl!), schema: bullSchema, migrate: true },
        recordsSchema: schema,
      })
    : createBullmqJobQueue({ connection: redisUrl!, prefix });
  const runsInPostgres = setup !== 'sqlite';
  const env: Record<string, string> = {
    CADRE_JOB_QUEUE: 'bullmq',
    CADRE_JOB_QUEUE_PREFIX: prefix,
    ...(alone ? {} : { CADRE_REDIS_URL: redisUrl! }),
    ...(runsInPostgres
      ? { CADRE_RUN_STORE: 'postgres', CADRE_DATABASE_URL: databaseUrl!, CADRE_DATABASE_SCHEMA: schema }
      : {}),
  };
  return {
    queue,
    start: (concurrency = 4) => startWorker(app, dir, ['--concurrency', String(concurrency)], env),
    ...(runsInPostgres ? { firstEvent: (runId: string) => firstEventIn(schema, runId) } : {}),
    async close() {
      await queue.close();
      if (!alone) await deleteRedisPrefix(redisUrl!, prefix);
      if (runsInPostgres) await dropSchema(databaseUrl!, schema);
      if (alone) await dropSchema(databaseUrl!, bullSchema);
    },
  };
}

/** When the run's first event was stored in `schema` of the PostgreSQL database. */
async function firstEventIn(schema: string, runId: string): Promise<number> {
  const client = new pg.Client(pgConfig(databaseUrl!));
  await client.connect();
  try {
    const { rows } = await client.query<{ ts: string }>(
      `SELECT MIN(ts) AS ts FROM "${schema}".cadre_events WHERE run_id = $1`,
      [runId],
    );
    return Number(rows[0]!.ts);
  } finally {
    await client.end();
  }
}

/**
 * Jobs per second of `workers` worker processes draining `n` jobs on a BullMQ queue. The jobs are
 * queued while the queue is paused and the clock starts at resume, so, as in the embedded rows, it
 * runs with every job in place (idle workers look every 250 ms: up to that much of the time is waiting).
 */
async function bullmqThroughput(app: string, n: number, workers: number, setup: BullmqSetup): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-bench-jobs-'));
  queueIn(dir); // tables in place before the workers open the file
  const { queue, start, close } = bullmqTarget(app, dir, setup);
  await queue.pause('default');
  for (let i = 0; i < n; i += 100)
    await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, (_, j) => queue.enqueue({ agent: 'zero', goal: `job ${i + j}` })),
    );
  const procs = Array.from({ length: workers }, () => start(16));
  await Promise.all(procs.map((p) => p.ready));
  const started = performance.now();
  await queue.resume('default');
  while ((await queue.counts()).completed < n) await sleep(20);
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(procs.map((p) => stop(p.child)));
  await close();
  return n / seconds;
}

/** Enqueue -> the run's first stored event, in ms, for jobs queued one at a time to an idle worker. */
async function pickup(app: string, n: number, on: 'embedded' | BullmqSetup): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-bench-jobs-'));
  const embedded = embeddedTarget(app, dir); // the tables, whichever queue
  const { queue, start, close, firstEvent } = on === 'embedded' ? embedded : bullmqTarget(app, dir, on);
  const worker = start();
  await worker.ready;
  // One job first: the worker's first run loads the framework (a one-off ~100 ms, not a pickup cost).
  const { job: warmUp } = await queue.enqueue({ agent: 'zero', goal: 'warm-up' });
  while ((await queue.get(warmUp.id))!.state !== 'completed') await sleep(10);
  const jobs: { runId: string; at: number }[] = [];
  for (let i = 0; i < n; i++) {
    const { job } = await queue.enqueue({ agent: 'zero', goal: `pickup ${i}` });
    jobs.push({ runId: job.runId, at: job.createdAt });
    await sleep(30);
  }
  await sleep(500);
  while ((await queue.counts()).completed < n + 1) await sleep(20);
  const db = new Database(join(dir, 'cadre.db'), { readonly: true });
  const first = db.prepare<[string], { ts: number }>('SELECT MIN(ts) AS ts FROM events WHERE run_id = ?');
  const latencies: number[] = [];
  for (const j of jobs) latencies.push((firstEvent ? await firstEvent(j.runId) : first.get(j.runId)!.ts) - j.at);
  latencies.sort((a, b) => a - b);
  db.close();
  await stop(worker.child);
  await close();
  return latencies;
}

/** Kill (SIGKILL) of the worker running a job -> `run.resumed` of that run on a second worker, in ms. */
async function recovery(app: string, leaseMs: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-bench-jobs-'));
  const { queue } = queueIn(dir);
  const lease = ['--lease', String(leaseMs)];
  const a = startWorker(app, dir, lease);
  await a.ready;
  const { job } = await queue.enqueue({ agent: 'slow', goal: 'recover me' });
  const db = new Database(join(dir, 'cadre.db'), { readonly: true });
  const event = db.prepare<[string, string], { ts: number }>('SELECT ts FROM events WHERE run_id = ? AND type = ?');
  while (!event.get(job.runId, 'run.started')) await sleep(10);
  const b = startWorker(app, dir, lease);
  await b.ready;
  await sleep(Math.random() * leaseMs); // killed anywhere in its heartbeat cycle
  const killedAt = Date.now();
  await stop(a.child);
  let resumed: { ts: number } | undefined;
  while (!(resumed = event.get(job.runId, 'run.resumed'))) await sleep(10);
  db.close();
  await stop(b.child);
  return resumed.ts - killedAt;
}

const show = (v: Spread, digits = 1) => showSpread(v, digits);

const app = compileApp();
const leaseMs = 2000;
const rounds = [];
for (let r = 0; r < repeats; r++) {
  const raw = await rawQueue(jobCount);
  const one = await throughput(app, jobCount, 1);
  const four = await throughput(app, jobCount, 4);
  const latencies = await pickup(app, pickups, 'embedded');
  const recovered = [await recovery(app, leaseMs), await recovery(app, leaseMs), await recovery(app, leaseMs)];
  const bullmq = redisUrl ? await bullmqRound(redisUrl) : undefined;
  rounds.push({ raw, one, four, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), recovered, bullmq });
  console.error(`repeat ${r + 1}/${repeats} done`);
}

/** One BullMQ setup's measures in a repeat: 1 and 4 worker processes' throughput, and pickup. */
async function setupRound(setup: BullmqSetup) {
  const one = await bullmqThroughput(app, jobCount, 1, setup);
  const four = await bullmqThroughput(app, jobCount, 4, setup);
  const latencies = await pickup(app, pickups, setup);
  return { one, four, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

/** One repeat of the BullMQ measures: raw BullMQ, cadre on it (runs in SQLite, runs in PostgreSQL), and on PostgreSQL alone. */
async function bullmqRound(url: string) {
  const raw = await rawBullmqThroughput(url, jobCount);
  const rawLatencies = await rawBullmqPickup(url, pickups);
  const onRedis = await setupRound('sqlite');
  const runs = databaseUrl ? await setupRound('postgres-runs') : undefined;
  const alone = databaseUrl ? await setupRound('postgres-alone') : undefined;
  return {
    ...(runs ? { runs } : {}),
    raw,
    rawP50: percentile(rawLatencies, 0.5),
    rawP99: percentile(rawLatencies, 0.99),
    ...onRedis,
    ...(alone ? { alone } : {}),
  };
}

const recoveries = rounds.flatMap((r) => r.recovered).sort((a, b) => a - b);
const bullRounds = rounds.flatMap((r) => (r.bullmq ? [r.bullmq] : []));
const runRounds = bullRounds.flatMap((b) => (b.runs ? [{ ...b.runs, raw: b.raw }] : []));
const aloneRounds = bullRounds.flatMap((b) => (b.alone ? [{ ...b.alone, raw: b.raw, redisOne: b.runs!.one }] : []));
/** The rows of a setup whose runs are in PostgreSQL, against raw BullMQ on Redis. */
const postgresRows = (rows: typeof runRounds) => ({
  oneWorkerJobsPerSecond: spread(rows.map((r) => r.one)),
  fourWorkersJobsPerSecond: spread(rows.map((r) => r.four)),
  perJobVsRawBullmq: spread(rows.map((r) => r.raw / r.one)),
  fourOverOne: spread(rows.map((r) => r.four / r.one)),
  pickupP50Ms: spread(rows.map((r) => r.p50)),
  pickupP99Ms: spread(rows.map((r) => r.p99)),
});
const report = {
  bench: 'jobs',
  node: process.version,
  jobs: jobCount,
  repeats,
  rawQueueJobsPerSecond: spread(rounds.map((r) => r.raw)),
  oneWorkerJobsPerSecond: spread(rounds.map((r) => r.one)),
  fourWorkersJobsPerSecond: spread(rounds.map((r) => r.four)),
  perJobOverheadVsRawQueue: spread(rounds.map((r) => r.raw / r.one)),
  fourOverOne: spread(rounds.map((r) => r.four / r.one)),
  pickupP50Ms: spread(rounds.map((r) => r.p50)),
  pickupP99Ms: spread(rounds.map((r) => r.p99)),
  leaseMs,
  recoveryMs: { p50: percentile(recoveries, 0.5), p99: percentile(recoveries, 0.99), all: recoveries },
  bullmq: bullRounds.length
    ? {
        rawJobsPerSecond: spread(bullRounds.map((b) => b.raw)),
        rawPickupP50Ms: spread(bullRounds.map((b) => b.rawP50)),
        rawPickupP99Ms: spread(bullRounds.map((b) => b.rawP99)),
        oneWorkerJobsPerSecond: spread(bullRounds.map((b) => b.one)),
        fourWorkersJobsPerSecond: spread(bullRounds.map((b) => b.four)),
        perJobVsRawBullmq: spread(bullRounds.map((b) => b.raw / b.one)),
        fourOverOne: spread(bullRounds.map((b) => b.four / b.one)),
        pickupP50Ms: spread(bullRounds.map((b) => b.p50)),
        pickupP99Ms: spread(bullRounds.map((b) => b.p99)),
        ...(runRounds.length ? { runsInPostgres: postgresRows(runRounds) } : {}),
        ...(aloneRounds.length
          ? {
              postgresAlone: {
                ...postgresRows(aloneRounds),
                // The same deployment with BullMQ on Redis (runs in PostgreSQL both ways), 1 worker.
                perJobVsRedis: spread(aloneRounds.map((r) => r.redisOne / r.one)),
              },
            }
          : {}),
      }
    : undefined,
  at: new Date().toISOString(),
};
console.log(
  `jobs: ${jobCount} single-task jobs, zero-latency scripted model, embedded store, ${repeats} repeats, Node ${process.version}\n`,
);
printTable(
  ['measure', 'min / median / max'],
  [
    ['raw queue (lease + settle, one process), jobs/s', show(report.rawQueueJobsPerSecond, 0)],
    ['1 worker process (concurrency 16), jobs/s', show(report.oneWorkerJobsPerSecond, 0)],
    ['4 worker processes (concurrency 16), jobs/s', show(report.fourWorkersJobsPerSecond, 0)],
    ['cost of a job / raw queue job (1 worker)', show(report.perJobOverheadVsRawQueue, 1)],
    ['4 workers / 1 worker', show(report.fourOverOne, 2)],
    [`pickup p50, ms (idle worker, ${pickups} jobs)`, show(report.pickupP50Ms)],
    ['pickup p99, ms', show(report.pickupP99Ms)],
  ],
);
console.log(
  `\nrecovery after SIGKILL (lease ${leaseMs} ms, ${recoveries.length} kills): p50 ${fmt(report.recoveryMs.p50, 0)} ms, p99 ${fmt(report.recoveryMs.p99, 0)} ms (goal <= ${2 * leaseMs} ms)`,
);
/** The table rows of a setup whose runs are in PostgreSQL. */
function postgresTable(name: string, rows: ReturnType<typeof postgresRows>): string[][] {
  return [
    [`${name}: cadre on BullMQ, 1 worker process, jobs/s`, show(rows.oneWorkerJobsPerSecond, 0), ''],
    [`${name}: cadre on BullMQ, 4 worker processes, jobs/s`, show(rows.fourWorkersJobsPerSecond, 0), ''],
    [`${name}: a job through cadre / a raw BullMQ job (1 worker)`, show(rows.perJobVsRawBullmq, 1), '<= 2'],
    [`${name}: 4 workers / 1 worker`, show(rows.fourOverOne, 2), '>= 3 (cores allowing)'],
    [`${name}: pickup p50, ms`, show(rows.pickupP50Ms), '<= 5'],
    [`${name}: pickup p99, ms`, show(rows.pickupP99Ms), '<= 20'],
  ];
}
const b = report.bullmq;
if (!b) console.log('\nBullMQ rows skipped: set CADRE_REDIS_URL=redis://…');
else {
  console.log(
    `\nBullMQ on Redis ${new URL(redisUrl!).host}, a fresh prefix per measurement; cadre's runs in SQLite unless a row says PostgreSQL (${jobCount} jobs)\n`,
  );
  printTable(
    ['measure', 'min / median / max', 'goal'],
    [
      ['raw BullMQ (Queue + Worker, empty processor, concurrency 16), jobs/s', show(b.rawJobsPerSecond, 0), ''],
      [`raw BullMQ pickup p50, ms (idle Worker, ${pickups} jobs)`, show(b.rawPickupP50Ms, 2), ''],
      ['raw BullMQ pickup p99, ms', show(b.rawPickupP99Ms, 2), ''],
      ['cadre on BullMQ, 1 worker process (concurrency 16), jobs/s', show(b.oneWorkerJobsPerSecond, 0), ''],
      ['cadre on BullMQ, 4 worker processes (concurrency 16), jobs/s', show(b.fourWorkersJobsPerSecond, 0), ''],
      ['a job through cadre / a raw BullMQ job (1 worker)', show(b.perJobVsRawBullmq, 1), '<= 2'],
      ['cadre on BullMQ, 4 workers / 1 worker', show(b.fourOverOne, 2), ''],
      [`cadre on BullMQ pickup p50, ms (idle worker, ${pickups} jobs)`, show(b.pickupP50Ms), '<= 5'],
      ['cadre on BullMQ pickup p99, ms', show(b.pickupP99Ms), '<= 20'],
      ...(b.runsInPostgres ? postgresTable('runs in PostgreSQL', b.runsInPostgres) : []),
      ...(b.postgresAlone
        ? [
            ...postgresTable('PostgreSQL alone (no Redis)', b.postgresAlone),
            [
              'PostgreSQL alone: a job / a job on BullMQ on Redis, runs in PostgreSQL (1 worker)',
              show(b.postgresAlone.perJobVsRedis, 2),
              '',
            ],
          ]
        : [['PostgreSQL rows skipped: set CADRE_DATABASE_URL=postgres://…', '', '']]),
    ],
  );
}
const dir = join(root, 'bench/results/');
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}jobs.json`, `${JSON.stringify(report, null, 2)}\n`);
