import pc from 'picocolors';
import { CadreError, loadConfig, type CadreConfigInput } from '../core/index.js';
import { configuredRunStore, type RunState } from '../runtime/index.js';

const colour = (status: RunState) =>
  status === 'completed'
    ? pc.green
    : status === 'failed' || status === 'interrupted'
      ? pc.red
      : status === 'running'
        ? pc.cyan
        : pc.yellow;

/** The runs of the store the config names: the embedded file, or PostgreSQL. */
const storeFor = (input: CadreConfigInput) => configuredRunStore(loadConfig(input));

/** `cadre runs`: the newest runs with their status; `interrupted` means the process died mid-run. */
export async function listRuns(options: { config: CadreConfigInput; json: boolean; limit: number }): Promise<number> {
  const runs = await storeFor(options.config).runs.list(options.limit);
  if (options.json) {
    for (const r of runs)
      process.stdout.write(
        `${JSON.stringify({ id: r.id, status: r.status, goal: r.goal, createdAt: r.createdAt, updatedAt: r.updatedAt })}\n`,
      );
    return 0;
  }
  if (runs.length === 0) {
    process.stdout.write('no runs yet\n');
    return 0;
  }
  for (const r of runs) {
    const when = new Date(r.createdAt).toISOString().replace('T', ' ').slice(0, 19);
    const goal = r.goal.length > 60 ? `${r.goal.slice(0, 59)}…` : r.goal;
    process.stdout.write(`${r.id}  ${colour(r.status)(r.status.padEnd(17))}  ${pc.dim(when)}  ${goal}\n`);
  }
  return 0;
}

/** `cadre events <runId> --from <seq>`: a run's stored events as JSON lines. */
export async function printEvents(options: { config: CadreConfigInput; runId: string; from: number }): Promise<number> {
  const store = storeFor(options.config);
  if (!(await store.runs.get(options.runId))) throw new CadreError('run_not_found', `No run ${options.runId}`);
  for (const event of await store.events.read(options.runId, options.from))
    process.stdout.write(`${JSON.stringify(event)}\n`);
  return 0;
}
