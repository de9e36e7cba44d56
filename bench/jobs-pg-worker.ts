/**
 * The jobs bench's worker process on BullMQ's PostgreSQL backend, which `cadre worker` has no setting
 * for: the same worker `cadre worker` starts (createWorker, the app loaded by path, runs in the
 * SQLite file of the data folder), over createBullmqJobQueue with `postgres`. Compiled next to the
 * results and run with plain Node on the built package, like the app.
 *
 *   node jobs-pg-worker.js <app> <data dir> <concurrency>
 *   env: BENCH_REDIS_URL, BENCH_PREFIX, BENCH_PG_URL (with a user), BENCH_PG_SCHEMA
 */
import { loadApp } from 'cadre';
import { createBullmqJobQueue, createWorker } from 'cadre/jobs';

const [appPath, dataDir, concurrency] = process.argv.slice(2);
const env = (name: string) => process.env[name] ?? process.exit(2);
const queue = createBullmqJobQueue({
  connection: env('BENCH_REDIS_URL'),
  prefix: env('BENCH_PREFIX'),
  postgres: { connectionString: env('BENCH_PG_URL'), schema: env('BENCH_PG_SCHEMA'), migrate: true },
});
await queue.paused(); // connected (and the schema migrated) before it says it started
const worker = createWorker({
  app: await loadApp({ path: appPath! }),
  config: { dataDir: dataDir! },
  queue,
  concurrency: Number(concurrency),
});
process.stderr.write(`worker ${worker.id} started\n`);
process.once('SIGTERM', () => void worker.stop().then(() => queue.close()));
