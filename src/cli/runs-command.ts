import pc from 'picocolors';
import { CadreError, loadConfig, type CadreConfigInput } from '../core/index.js';
import { openConfiguredStore, type RunState } from '../runtime/index.js';

const colour = (status: RunState) =>
  status === 'completed'
    ? pc.green
    : status === 'failed' || status === 'interrupted'
      ? pc.red
      : status === 'running'
        ? pc.cyan
        : pc.yellow;

function storeFor(input: CadreConfigInput) {
  const config = loadConfig(input);
  return openConfiguredStore(config);
}

/** `cadre runs`: the newest runs with their status; `interrupted` means the process died mid-run. */
export function listRuns(options: { config: CadreConfigInput; json: boolean; limit: number }): number {
  const runs = storeFor(options.config).runs.list(options.limit);
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
export function printEvents(options: { config: CadreConfigInput; runId: string; from: number }): number {
  const store = storeFor(options.config);
  if (!store.runs.get(options.runId)) throw new CadreError('run_not_found', `No run ${options.runId} in ${store.path}`);
  for (const event of store.events.read(options.runId, options.from))
    process.stdout.write(`${JSON.stringify(event)}\n`);
  return 0;
}
