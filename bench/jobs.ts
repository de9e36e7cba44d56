/**
 * jobs: what cadre's embedded job queue and workers cost, measured the way users run them — workers
 * as separate `cadre worker` processes (plain Node on the built package) over one SQLite file.
 *   raw queue      the queue alone in one process: lease + settle with an empty processor (the anchor)
 *   throughput     N queued single-task jobs (zero-latency scripted model) drained by 1 and by 4
 *                  worker processes (concurrency 16 each): jobs per second
 *   pickup         one idle, warmed-up worker; jobs queued one at a time: enqueue -> the run's first event
 *   recovery       a worker killed (SIGKILL) mid-job: kill -> the run resumed on another worker
 * Three repeats; each cell is min / median / max. Prints tables and writes bench/results/jobs.json.
 *
 *   npm run bench:jobs [-- --jobs 2000 --repeats 3]
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
import { SqliteJobQueue } from 'cadre/jobs';
import { fmt, percentile, printTable } from './bench-kit.js';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const jobCount = flag('--jobs', 2000);
const repeats = flag('--repeats', 3);
const pickups = flag('--pickups', 100);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

function startWorker(app: string, dir: string, extra: string[] = []): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, [join(root, 'bin/cadre.js'), 'worker', '--app', app, '--data', dir, ...extra], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', CADRE_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ready = new Promise<void>((resolve) =>
    child.stderr!.on('data', (d: Buffer) => d.toString().includes('started') && resolve()),
  );
  return { child, ready };
}

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

/** Enqueue -> the run's `run.started`, in ms, for jobs queued one at a time to an idle worker. */
async function pickup(app: string, n: number): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-bench-jobs-'));
  const { queue } = queueIn(dir);
  const worker = startWorker(app, dir);
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
  const db = new Database(join(dir, 'cadre.db'), { readonly: true });
  const first = db.prepare<[string], { ts: number }>('SELECT MIN(ts) AS ts FROM events WHERE run_id = ?');
  const latencies = jobs.map((j) => first.get(j.runId)!.ts - j.at).sort((a, b) => a - b);
  db.close();
  await stop(worker.child);
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

const spread = (values: number[]) => {
  const s = [...values].sort((x, y) => x - y);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s.at(-1)! };
};
const show = (v: { min: number; median: number; max: number }, digits = 1) =>
  `${fmt(v.min, digits)} / ${fmt(v.median, digits)} / ${fmt(v.max, digits)}`;

const app = compileApp();
const leaseMs = 2000;
const rounds = [];
for (let r = 0; r < repeats; r++) {
  const raw = await rawQueue(jobCount);
  const one = await throughput(app, jobCount, 1);
  const four = await throughput(app, jobCount, 4);
  const latencies = await pickup(app, pickups);
  const recovered = [await recovery(app, leaseMs), await recovery(app, leaseMs), await recovery(app, leaseMs)];
  rounds.push({ raw, one, four, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), recovered });
  console.error(`repeat ${r + 1}/${repeats} done`);
}
const recoveries = rounds.flatMap((r) => r.recovered).sort((a, b) => a - b);
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
const dir = join(root, 'bench/results/');
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}jobs.json`, `${JSON.stringify(report, null, 2)}\n`);
