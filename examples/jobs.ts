/**
 * Queued and scheduled jobs on the embedded store: a registry with one agent, a job queued twice
 * under one dedupe key (one job), a recurring schedule, and a worker that runs what is due and
 * stops when nothing is left. Runs offline on a scripted model.
 *
 *   npx tsx examples/jobs.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineApp } from 'cadre';
import { createWorker, enqueue, openJobQueue, schedule } from 'cadre/jobs';
import { ScriptedChatModel } from 'cadre/testing';

const app = defineApp({
  agents: {
    reporter: {
      agent: { name: 'reporter', instructions: 'Write a one-line report.' },
      model: new ScriptedChatModel({ respond: ({ task }) => `report: ${task.split('\n').at(-1)}` }),
    },
  },
});
// A file of its own, so the queue outlives this process like a real deployment's would. The embedded
// queue even where CADRE_REDIS_URL is set (which picks BullMQ): drop `jobQueue` to follow the environment.
const config = {
  databasePath: join(mkdtempSync(join(tmpdir(), 'cadre-jobs-')), 'cadre.db'),
  jobQueue: 'sqlite' as const,
};

const first = await enqueue(
  { agent: 'reporter', goal: 'orders of 2026-12-05', dedupeKey: 'orders:2026-12-05' },
  { app, config },
);
const again = await enqueue(
  { agent: 'reporter', goal: 'orders of 2026-12-05', dedupeKey: 'orders:2026-12-05' },
  { app, config },
);
console.log(`queued ${first.job.id}; the same key again is ${again.created ? 'a new job' : 'the same job'}`);

const daily = await schedule(
  {
    timing: { cron: '0 7 * * *', tz: 'Europe/Paris', missed: 'once' },
    job: { agent: 'reporter', goal: 'daily orders' },
  },
  { app, config },
);
console.log(`schedule ${daily.id} fires next at ${new Date(daily.nextAt!).toISOString()} (07:00 in Paris)`);

const worker = createWorker({
  app,
  config,
  concurrency: 2,
  onEvent: (event) => {
    if (event.type === 'job.settled') console.log(`${event.job.id} ${event.job.state}: ${event.job.result?.answer}`);
  },
});
await worker.idle(); // nothing ready and nothing running
await worker.stop();
const queue = openJobQueue(config);
const counts = await queue.counts();
await queue.close(); // nothing to close for the embedded queue; a BullMQ one holds connections
console.log(`jobs: ${counts.completed} completed, ${counts.queued} queued`);
