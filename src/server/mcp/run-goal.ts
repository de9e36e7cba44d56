import { runNamed, type CadreApp } from '../../app/index.js';
import { CadreError } from '../../core/index.js';
import { run, type RunHandle, type RunOptions } from '../../runtime/index.js';

/** What the MCP server tells a `runGoal` callback besides the goal. */
export interface RunGoalContext {
  /** The registered team the client asked for (offered only when the server has an app registry). */
  team?: string;
  /** Call with the run's id once the run is recorded: the server logs it and links the client to it. */
  onRunStarted?: (runId: string) => void;
}

/** The `runGoal` callback of createCadreMcpServer: one cadre run per call, its answer returned. */
export type RunGoal = (goal: string, signal: AbortSignal, context?: RunGoalContext) => Promise<string>;

/**
 * Adapts `run()` to the `runGoal` callback of createCadreMcpServer: one cadre run per call, cancelled
 * when the MCP client cancels, its answer returned or its failure thrown as a CadreError. With
 * `named.app`, a call naming a team runs that registered team (`runNamed`) instead.
 */
export function runGoalWith(options: Omit<RunOptions, 'goal' | 'signal'>, named?: { app: CadreApp }): RunGoal {
  return async (goal, signal, context) => {
    let handle: RunHandle;
    if (context?.team !== undefined) {
      if (!named) throw new CadreError('input_invalid', 'This server runs no registered teams; leave out `team`');
      handle = await runNamed({
        app: named.app,
        team: context.team,
        goal,
        signal,
        ...(options.config ? { config: options.config } : {}),
      });
    } else handle = run({ ...options, goal, signal });
    context?.onRunStarted?.(handle.runId);
    const result = await handle.result;
    if (result.status === 'completed' && result.answer !== null) return result.answer;
    throw new CadreError(
      'run_failed',
      `Run ${result.runId} ended ${result.status}${result.error ? `: ${result.error.message}` : ''}`,
      {
        details: { runId: result.runId, status: result.status },
      },
    );
  };
}
