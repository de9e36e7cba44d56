import { CadreError } from '../../core/index.js';
import { run, type RunOptions } from '../../runtime/index.js';

/**
 * Adapts `run()` to the `runGoal` callback of createCadreMcpServer: one cadre run per call, cancelled
 * when the MCP client cancels, its answer returned or its failure thrown as a CadreError.
 */
export function runGoalWith(
  options: Omit<RunOptions, 'goal' | 'signal'>,
): (goal: string, signal: AbortSignal) => Promise<string> {
  return async (goal, signal) => {
    const handle = run({ ...options, goal, signal });
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
