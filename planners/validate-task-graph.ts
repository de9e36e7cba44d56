import { isTaskStrategy, taskStrategies } from '../agents/strategies/task-strategies.js';
import { CadreError } from '../src/core/index.js';
import { outputSchemaOf } from './output-schema.js';
import { TaskGraphSchema, type TaskGraph } from './task-graph.js';

/** What kind of problem a plan has; `schema` covers anything the task graph schema rejects. */
export type PlanProblemCode =
  | 'schema'
  | 'empty'
  | 'duplicate_id'
  | 'unknown_dependency'
  | 'self_dependency'
  | 'cycle'
  | 'unknown_role'
  | 'unknown_tool'
  | 'unknown_strategy'
  | 'too_many_tasks'
  | 'too_deep';

/** One thing wrong with a plan, in words a planner model can act on. */
export interface PlanProblem {
  code: PlanProblemCode;
  taskId?: string;
  message: string;
}

/** What a plan is checked against: the team's roles and tools, and its size limits. */
export interface ValidateOptions {
  /** Every task's role must be one of these. */
  roles: readonly string[];
  /** When given, every task's tools must be among these. */
  tools?: readonly string[];
  /** Default 50. */
  maxTasks?: number;
  /** Longest chain of dependent tasks. Default 12. */
  maxDepth?: number;
}

/** A checked plan, or every problem found in it. */
export type CheckResult = { ok: true; graph: TaskGraph } | { ok: false; problems: PlanProblem[] };

/** Checks a plan and returns every problem at once, without throwing. */
export function checkTaskGraph(input: unknown, options: ValidateOptions): CheckResult {
  const parsed = TaskGraphSchema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => ({
        code: 'schema',
        message: `${i.path.join('.') || 'plan'}: ${i.message}`,
      })),
    };
  }
  const graph = parsed.data;
  const problems: PlanProblem[] = [];
  const { maxTasks = 50, maxDepth = 12 } = options;
  if (graph.tasks.length === 0) problems.push({ code: 'empty', message: 'The plan has no tasks' });
  if (graph.tasks.length > maxTasks)
    problems.push({
      code: 'too_many_tasks',
      message: `The plan has ${graph.tasks.length} tasks; at most ${maxTasks} are allowed`,
    });
  const ids = new Set<string>();
  for (const task of graph.tasks) {
    if (ids.has(task.id))
      problems.push({ code: 'duplicate_id', taskId: task.id, message: `Task id "${task.id}" is used more than once` });
    ids.add(task.id);
  }
  const roles = new Set(options.roles);
  const tools = options.tools ? new Set(options.tools) : undefined;
  for (const task of graph.tasks) {
    for (const dep of task.dependsOn) {
      if (dep === task.id)
        problems.push({ code: 'self_dependency', taskId: task.id, message: `Task "${task.id}" depends on itself` });
      else if (!ids.has(dep))
        problems.push({
          code: 'unknown_dependency',
          taskId: task.id,
          message: `Task "${task.id}" depends on "${dep}", which is not a task in the plan`,
        });
    }
    if (!roles.has(task.role)) {
      problems.push({
        code: 'unknown_role',
        taskId: task.id,
        message: `Task "${task.id}" has role "${task.role}"; known roles: ${[...roles].join(', ')}`,
      });
    }
    if (task.strategy !== undefined && !isTaskStrategy(task.strategy))
      problems.push({
        code: 'unknown_strategy',
        taskId: task.id,
        message: `Task "${task.id}" names strategy "${task.strategy}"; known strategies: ${taskStrategies.join(', ')}`,
      });
    const { error: schemaError } = outputSchemaOf(task);
    if (schemaError) problems.push({ code: 'schema', taskId: task.id, message: schemaError });
    for (const tool of task.tools ?? []) {
      if (tools && !tools.has(tool))
        problems.push({
          code: 'unknown_tool',
          taskId: task.id,
          message: `Task "${task.id}" uses tool "${tool}"; known tools: ${[...tools].join(', ') || 'none'}`,
        });
    }
  }
  for (const cycle of findCycles(graph)) {
    problems.push({
      code: 'cycle',
      taskId: cycle[0],
      message: `Dependency cycle: ${[...cycle, cycle[0]].join(' -> ')}`,
    });
  }
  if (!problems.some((p) => p.code === 'cycle' || p.code === 'self_dependency')) {
    const depth = longestChain(graph);
    if (depth > maxDepth)
      problems.push({
        code: 'too_deep',
        message: `The longest dependency chain has ${depth} tasks; at most ${maxDepth} are allowed`,
      });
  }
  return problems.length ? { ok: false, problems } : { ok: true, graph };
}

/** Validates a plan; throws `plan_invalid` listing every problem, one per line. */
export function validateTaskGraph(input: unknown, options: ValidateOptions): TaskGraph {
  const result = checkTaskGraph(input, options);
  if (result.ok) return result.graph;
  throw new CadreError(
    'plan_invalid',
    `The plan is invalid:\n${result.problems.map((p) => `- ${p.message}`).join('\n')}`,
    {
      details: { problems: result.problems },
    },
  );
}

/** Each elementary cycle found by depth-first search, reported once, as the list of its task ids. */
function findCycles(graph: TaskGraph): string[][] {
  const deps = dependencyMap(graph);
  for (const [id, list] of deps)
    deps.set(
      id,
      list.filter((d) => d !== id),
    );
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const visit = (id: string) => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      if (!deps.has(dep)) continue;
      if (state.get(dep) === 'visiting') {
        const cycle = stack.slice(stack.indexOf(dep));
        const key = [...cycle].sort().join('|');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of deps.keys()) if (!state.has(id)) visit(id);
  return cycles;
}

/** Dependencies by task id; a duplicated id gets the union, so no edge escapes the checks. */
function dependencyMap(graph: TaskGraph): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const task of graph.tasks) deps.set(task.id, [...new Set([...(deps.get(task.id) ?? []), ...task.dependsOn])]);
  return deps;
}

function longestChain(graph: TaskGraph): number {
  const deps = dependencyMap(graph);
  const memo = new Map<string, number>();
  const depth = (id: string): number => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const value = 1 + Math.max(0, ...(deps.get(id) ?? []).filter((d) => deps.has(d)).map(depth));
    memo.set(id, value);
    return value;
  };
  return Math.max(0, ...graph.tasks.map((t) => depth(t.id)));
}
