import pc from 'picocolors';
import type { RunResult } from '../runtime/index.js';

const statusColour = (status: string) => (status === 'completed' ? pc.green : status === 'failed' ? pc.red : pc.yellow);

/**
 * The end of a run on a terminal: the task table, the answer (unless `answerShown`: it streamed onto
 * the screen already), totals, and what to do next.
 */
export function printResult(
  result: RunResult,
  out: NodeJS.WritableStream = process.stdout,
  options: { answerShown?: boolean } = {},
): void {
  if (result.tasks.length > 0) {
    out.write(`\n${pc.bold('tasks')}\n`);
    out.write(
      pc.dim(
        `  ${'task'.padEnd(14)} ${'role'.padEnd(10)} ${'status'.padEnd(9)} ${'tries'.padStart(5)} ${'model'.padEnd(18)} ${'time'.padStart(7)} ${'tokens'.padStart(7)} ${'cost'.padStart(8)}\n`,
      ),
    );
    for (const t of result.tasks) {
      const status = statusColour(t.status)(t.status.padEnd(9));
      const warning = t.toolErrors ? pc.yellow(` ${t.toolErrors} tool call${t.toolErrors > 1 ? 's' : ''} failed`) : '';
      out.write(
        `  ${t.taskId.padEnd(14)} ${t.role.padEnd(10)} ${status} ${String(t.attempts).padStart(5)} ${(t.model ?? '-').padEnd(18)} ${`${(t.durationMs / 1000).toFixed(2)}s`.padStart(7)} ${String(t.usage.totalTokens).padStart(7)} ${`$${t.costUsd.toFixed(4)}`.padStart(8)}${warning}\n`,
      );
    }
  }
  if (result.models.length > 0) {
    out.write(`\n${pc.bold('models')}\n`);
    for (const m of result.models) {
      out.write(
        `  ${m.model.padEnd(28)} ${String(m.calls).padStart(4)} calls ${String(m.usage.totalTokens).padStart(8)} tokens ${`$${m.costUsd.toFixed(4)}`.padStart(9)}\n`,
      );
    }
  }
  if (result.answer !== null && !options.answerShown) out.write(`\n${pc.bold('answer')}\n${result.answer}\n`);
  const tokens = `${result.usage.totalTokens} tokens (in ${result.usage.inputTokens} / out ${result.usage.outputTokens})`;
  out.write(
    `\n${statusColour(result.status)(result.status)} · ${result.steps} model calls · ${tokens} · $${result.costUsd.toFixed(4)} · ${(result.durationMs / 1000).toFixed(2)} s · ${pc.dim(result.runId)}\n`,
  );
  if (result.error && result.status !== 'completed')
    out.write(`${pc.red(`${result.error.code}: ${result.error.message}`)}\n`);
  // A run that stopped (or failed outside its tasks, e.g. a provider was down) continues where it was.
  const resumable =
    result.status === 'cancelled' ||
    result.status === 'budget_exceeded' ||
    (result.status === 'failed' && result.error?.code !== 'task_failed');
  if (resumable) {
    out.write(pc.dim(`resume with: cadre resume ${result.runId}\n`));
  }
  if (result.status === 'awaiting_approval') {
    const request = result.approval;
    if (request?.kind === 'tool_approval') {
      const args = JSON.stringify(request.args);
      out.write(
        `${pc.yellow('tool call')} ${pc.bold(request.tool)} (${request.effects}) in task ${request.taskId}: ${args.length > 200 ? `${args.slice(0, 199)}…` : args}\n`,
      );
    }
    if (request?.kind === 'elicitation') {
      const fields = Object.keys(request.requestedSchema.properties ?? {}).join(', ');
      out.write(`${pc.yellow('question')} from MCP server ${pc.bold(request.server)}: ${request.message}\n`);
      out.write(
        `${pc.yellow('waiting for an answer')}${fields ? ` (${fields})` : ''}: cadre resume ${result.runId} --answer '{…}'  (or --reject)\n`,
      );
      return;
    }
    out.write(
      `${pc.yellow('waiting for approval')}: cadre resume ${result.runId} --approve  (or --reject [--reason <text>])\n`,
    );
  }
}
