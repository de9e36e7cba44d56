import { emptyUsage, throwIfAborted, CadreError } from 'cadre';
import type { Agent, AgentTask, TaskResult } from 'cadre/agents';

export interface Span {
  id: string;
  attempt: number;
  start: number;
  end: number;
}

/**
 * An agent whose work is a timer: it records when each task starts and ends, can fail chosen
 * attempts, and answers with the task id and what it was given, so tests see the data flow.
 */
export function timedAgent(
  name: string,
  options: { spans: Span[]; durationMs?: (id: string) => number; fails?: (id: string, attempt: number) => boolean },
): Agent {
  return {
    name,
    async run(task: AgentTask, ctx): Promise<TaskResult> {
      const start = performance.now();
      const attempt = task.attempt ?? 1;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, options.durationMs?.(task.id) ?? 1);
        ctx.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(ctx.signal.reason as Error);
          },
          { once: true },
        );
      });
      throwIfAborted(ctx.signal);
      options.spans.push({ id: task.id, attempt, start, end: performance.now() });
      if (options.fails?.(task.id, attempt))
        throw new CadreError('tool_failed', `${task.id} broke on attempt ${attempt}`);
      const inputs = [...(task.context ?? '').matchAll(/^### (\S+):/gm)].map((m) => m[1]).join(',');
      return {
        taskId: task.id,
        answer: `${task.id}(${inputs})`,
        steps: 1,
        replayedSteps: 0,
        usage: emptyUsage(),
        costUsd: 0,
        messages: [],
      };
    },
  };
}

export const plainTask = (id: string, dependsOn: string[] = [], role = 'worker') => ({
  id,
  title: `task ${id}`,
  instruction: `do ${id}`,
  role,
  dependsOn,
});
