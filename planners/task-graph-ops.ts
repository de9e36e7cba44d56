import type { Task, TaskGraph } from './task-graph.js';

/** Tasks in an order where each comes after all its dependencies (stable for ties). Assumes no cycle. */
export function topologicalOrder(graph: TaskGraph): Task[] {
  return layers(graph).flat();
}

/** Tasks grouped by depth: layer 0 has no dependencies, layer n depends on layers below n. */
export function layers(graph: TaskGraph): Task[][] {
  const byId = new Map(graph.tasks.map((t) => [t.id, t]));
  const level = new Map<string, number>();
  const levelOf = (task: Task): number => {
    const known = level.get(task.id);
    if (known !== undefined) return known;
    level.set(task.id, 0); // guards against cycles in unvalidated input
    const value =
      Math.max(
        -1,
        ...task.dependsOn
          .map((d) => byId.get(d))
          .filter((d): d is Task => !!d)
          .map(levelOf),
      ) + 1;
    level.set(task.id, value);
    return value;
  };
  const out: Task[][] = [];
  for (const task of graph.tasks) (out[levelOf(task)] ??= []).push(task);
  return out.filter(Boolean);
}

/** Every task that depends on `taskId`, directly or through others. */
export function descendantsOf(graph: TaskGraph, taskId: string): Set<string> {
  const found = new Set<string>();
  const queue = [taskId];
  while (queue.length) {
    const current = queue.shift()!;
    for (const task of graph.tasks) {
      if (task.dependsOn.includes(current) && !found.has(task.id)) {
        found.add(task.id);
        queue.push(task.id);
      }
    }
  }
  return found;
}

/** Tasks not yet started whose dependencies have all finished. */
export function readyTasks(
  graph: TaskGraph,
  state: { done: ReadonlySet<string>; running: ReadonlySet<string>; failed?: ReadonlySet<string> },
): Task[] {
  return graph.tasks.filter(
    (t) =>
      !state.done.has(t.id) &&
      !state.running.has(t.id) &&
      !state.failed?.has(t.id) &&
      t.dependsOn.every((d) => state.done.has(d)),
  );
}

/** The longest chain of task durations: the shortest possible makespan with unlimited workers. */
export function criticalPath(
  graph: TaskGraph,
  durationMs: (task: Task) => number,
): { lengthMs: number; path: string[] } {
  const finish = new Map<string, { at: number; path: string[] }>();
  for (const task of topologicalOrder(graph)) {
    const before = task.dependsOn
      .map((d) => finish.get(d))
      .filter(Boolean)
      .sort((a, b) => b!.at - a!.at)[0];
    finish.set(task.id, { at: (before?.at ?? 0) + durationMs(task), path: [...(before?.path ?? []), task.id] });
  }
  const last = [...finish.values()].sort((a, b) => b.at - a.at)[0];
  return { lengthMs: last?.at ?? 0, path: last?.path ?? [] };
}

/** A compact text view of the plan, layer by layer, for terminals and logs. */
export function renderTaskGraph(graph: TaskGraph): string {
  const lines: string[] = [];
  layers(graph).forEach((layer, i) => {
    for (const task of layer) {
      const deps = task.dependsOn.length ? `after ${task.dependsOn.join(', ')}` : 'starts at once';
      lines.push(`${String(i + 1).padStart(2)}. ${task.id} [${task.role}] ${task.title} (${deps})`);
    }
  });
  return lines.join('\n');
}

/**
 * How urgent each task is for the makespan: the number of tasks on the longest chain from it to
 * the end (itself included), then how many tasks wait on it. Durations are unknown before a run,
 * so chain length stands in for the critical path.
 */
export function schedulingPriority(graph: TaskGraph): Map<string, number> {
  const chain = new Map<string, number>();
  const order = topologicalOrder(graph).reverse();
  for (const task of order) {
    const next = graph.tasks.filter((t) => t.dependsOn.includes(task.id)).map((t) => chain.get(t.id) ?? 1);
    chain.set(task.id, 1 + Math.max(0, ...next));
  }
  return new Map(graph.tasks.map((t) => [t.id, (chain.get(t.id) ?? 1) * 10_000 + descendantsOf(graph, t.id).size]));
}
