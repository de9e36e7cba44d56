import type { Command } from 'commander';
import { duration, instant, positiveInt as positive, wholeNumber as whole } from './arg-parsers.js';
import type { JobState } from '../core/job-queue.js';
import type { AddFlags, CommonFlags, WorkerFlags } from './jobs-actions.js';

// Registration only: each action loads jobs-actions.ts (and through it the framework) when it runs.
const actions = () => import('./jobs-actions.js');

const common = (command: Command) =>
  command
    .option('--data <dir>', 'where runs and jobs are stored (default: .cadre)')
    .option('--json', 'print JSON (one object, or one array for lists) on stdout');

/** Adds `cadre jobs ...` and `cadre worker`. */
export function addJobsCommands(program: Command): void {
  const jobs = program.command('jobs').description('queued and scheduled goals, run by `cadre worker`');

  common(
    jobs
      .command('add')
      .argument('<name>', 'the registered team (or, with --agent, agent) to run')
      .argument('<goal>', 'what you want done')
      .description('queue a goal, or with --cron / --every schedule it'),
  )
    .option('--agent', '<name> is a registered agent, not a team')
    .option('--app <module>', 'the app registry (default: CADRE_APP or ./cadre.app.ts)')
    .option('--queue <name>', 'queue (default: default)')
    .option('--priority <n>', 'higher runs first (default 0)', whole)
    .option('--run-at <time>', 'not before this time (ISO 8601)', instant)
    .option('--timeout <duration>', 'stop an attempt after this long (e.g. 10m)', duration)
    .option('--attempts <n>', 'attempts before the job is dead (default 3)', positive)
    .option('--backoff <duration>', 'wait before the 2nd attempt, doubling after (default 1s)', duration)
    .option('--dedupe <key>', 'a job with this key already queued is not queued again')
    .option('--max-steps <n>', 'most model calls per run', positive)
    .option('--max-cost <usd>', 'most US dollars per run', Number)
    .option('--cron <expr>', 'schedule: cron expression (5 fields, or 6 with seconds)')
    .option('--tz <zone>', 'schedule: time zone of the cron, e.g. Europe/Paris (default UTC)')
    .option('--every <duration>', 'schedule: a fixed interval, e.g. 15m', duration)
    .option('--missed <policy>', 'schedule: after downtime, skip missed fires or run once (default skip)')
    .option('--overlap', 'schedule: fire even while the previous job is still going')
    .action(async (name: string, goal: string, flags: AddFlags & CommonFlags) => {
      process.exitCode = await (await actions()).addJob(name, goal, flags);
    });

  common(jobs.command('list').description('jobs, newest first'))
    .option('--state <state>', 'queued | running | waiting | completed | dead | cancelled')
    .option('--queue <name>', 'only this queue')
    .option('--limit <n>', 'how many', positive, 50)
    .action(async (flags: CommonFlags & { state?: JobState; queue?: string; limit: number }) => {
      process.exitCode = await (await actions()).listJobs(flags);
    });

  common(jobs.command('show').argument('<id>', 'a job id').description('one job, with its run')).action(
    async (id: string, flags: CommonFlags) => {
      process.exitCode = await (await actions()).showJob(id, flags);
    },
  );

  for (const [verb, description] of [
    ['retry', 'queue a dead or cancelled job again, with fresh attempts'],
    ['cancel', 'cancel a job; a running one stops at its next step'],
    ['approve', 'approve what a waiting job asks (its plan or a tool call); a worker continues it'],
    ['reject', 'reject what a waiting job asks; a worker continues it'],
  ] as const) {
    common(jobs.command(verb).argument('<id>', 'a job id').description(description))
      .option('--reason <text>', 'why (approve / reject)')
      .action(async (id: string, flags: CommonFlags & { reason?: string }) => {
        process.exitCode = await (await actions()).changeJob(verb, id, flags);
      });
  }

  for (const [verb, description] of [
    ['pause', 'stop leasing jobs from a queue'],
    ['resume', 'lease jobs from a paused queue again'],
  ] as const) {
    common(jobs.command(verb).argument('<queue>', 'a queue name').description(description)).action(
      async (queue: string, flags: CommonFlags) => {
        process.exitCode = await (await actions()).pauseQueue(verb, queue, flags);
      },
    );
  }

  common(jobs.command('schedules').description('schedules, with their next fire time')).action(
    async (flags: CommonFlags) => {
      process.exitCode = await (await actions()).listSchedules(flags);
    },
  );
  common(jobs.command('unschedule').argument('<id>', 'a schedule id').description('remove a schedule')).action(
    async (id: string, flags: CommonFlags) => {
      process.exitCode = await (await actions()).removeSchedule(id, flags);
    },
  );

  program
    .command('worker')
    .description('run queued and scheduled jobs; SIGTERM drains (running jobs go back to the queue)')
    .option('--concurrency <n>', 'jobs at once (default 4)', positive)
    .option('--queue <name...>', 'only these queues')
    .option('--lease <duration>', 'lease length; a worker gone this long loses its jobs (default 30s)', duration)
    .option('--until-idle', 'exit once no job is ready and none is running')
    .option('--app <module>', 'the app registry (default: CADRE_APP or ./cadre.app.ts)')
    .option('--data <dir>', 'where runs and jobs are stored (default: .cadre)')
    .option('--json', 'print what the worker does as JSON lines')
    .action(async (flags: WorkerFlags) => {
      process.exitCode = await (await actions()).runWorker(flags);
    });
}
