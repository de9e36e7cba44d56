import { topologicalOrder, type TaskGraph } from '../../planners/index.js';
import type { TaskOutcome } from './task-outcome.js';
import type { ErrorInfo } from '../core/index.js';

/** How a run's plan ended: its status, answer, final plan and every task's outcome. */
export interface WorkflowOutput {
  status: 'completed' | 'failed' | 'rejected';
  answer: string | null;
  graph: TaskGraph;
  tasks: TaskOutcome[];
  error?: ErrorInfo;
}

/** The run's answer: the answer of the final task, or of every task nothing else builds on. */
export function summarise(graph: TaskGraph, outcomes: Map<string, TaskOutcome>): WorkflowOutput {
  const tasks = topologicalOrder(graph)
    .map((t) => outcomes.get(t.id)!)
    .filter(Boolean);
  const sinks = graph.tasks.filter((t) => !graph.tasks.some((other) => other.dependsOn.includes(t.id)));
  const answered = sinks.map((t) => outcomes.get(t.id)).filter((x): x is TaskOutcome => x?.status === 'completed');
  const answer =
    answered.length === 0
      ? null
      : answered.length === 1
        ? answered[0]!.answer
        : answered.map((x) => `## ${x.title}\n${x.answer}`).join('\n\n');
  const failed = tasks.filter((t) => t.status !== 'completed');
  if (failed.length === 0) return { status: 'completed', answer, graph, tasks };
  const first = failed.find((t) => t.status === 'failed') ?? failed[0]!;
  const message = `${failed.length} of ${tasks.length} tasks did not complete; ${first.taskId}: ${first.error?.message ?? first.status}`;
  return { status: 'failed', answer, graph, tasks, error: { code: 'task_failed', kind: 'system', message } };
}
