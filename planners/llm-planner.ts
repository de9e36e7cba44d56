import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import type { PlanContext, PlanReport, Planner } from './planner.js';
import { assignStrategies, checkStrategiesByKind, type StrategiesByKind } from './strategies-by-kind.js';
import { requestPlan } from './structured-plan.js';
import { checkTaskGraph, validateTaskGraph } from './validate-task-graph.js';
import type { TaskGraph, TaskGraphInput } from './task-graph.js';

/** The model an {@link LlmPlanner} asks, how often it may repair a plan, and the plan's size limits. */
export interface LlmPlannerOptions {
  model: BaseChatModel;
  /** Corrections asked of the model after the first attempt. Default 2. */
  maxRepairs?: number;
  /** Most tasks in a plan. Default 50. */
  maxTasks?: number;
  /** Longest chain of dependent tasks. Default 12. */
  maxDepth?: number;
  /** The strategy for each task kind when a task names none, e.g. `{ reason: 'tree-of-thoughts' }`. */
  strategies?: StrategiesByKind;
}

/** Describes roles and tools for a planning prompt. */
export function describeTeam(context: PlanContext): string {
  const roles = context.roles.map((r) => `- ${r.name}${r.description ? `: ${r.description}` : ''}`).join('\n');
  const tools = context.tools.map((t) => `- ${t.name}: ${t.description}`).join('\n') || '- (none)';
  return `Roles:\n${roles}\n\nTools:\n${tools}`;
}

/**
 * Plans with a model: structured output through a `submit_plan` tool call, or JSON in the reply
 * for models without tool calling; invalid plans are repaired from the validation problems.
 */
export class LlmPlanner implements Planner {
  constructor(private readonly options: LlmPlannerOptions) {
    checkStrategiesByKind(options.strategies);
  }

  async plan(goal: string, context: PlanContext): Promise<PlanReport> {
    const limits = {
      roles: context.roles.map((r) => r.name),
      tools: context.tools.map((t) => t.name),
      maxTasks: this.options.maxTasks,
      maxDepth: this.options.maxDepth,
    };
    const system = [
      'You are the planner of a team of agents. Break the goal into tasks that together achieve it.',
      'Each task has a short id, a title, a precise instruction, one role, and dependsOn: the ids of tasks whose results it needs.',
      'Make tasks independent wherever possible so they run in parallel; add a final task that combines results into the answer.',
      'Use only the roles and tools listed. Submit the plan with the submit_plan tool, or as JSON {"goal": ..., "tasks": [...]}.',
      '',
      describeTeam(context),
      ...(context.hints ? ['', `What earlier runs learned:\n${context.hints}`] : []),
    ].join('\n');
    const report = await requestPlan({
      model: this.options.model,
      messages: [new SystemMessage(system), new HumanMessage(`Goal: ${goal}`)],
      check: (value) => checkTaskGraph(value, limits),
      maxRepairs: this.options.maxRepairs ?? 2,
      signal: context.signal,
      hooks: context,
    });
    return { ...report, graph: assignStrategies(report.graph, this.options.strategies, context.roles) };
  }
}

/**
 * A planner for programs that already know their plan; the plan is validated like any other.
 * `strategies` gives each task kind a strategy where a task names none.
 */
export class StaticPlanner implements Planner {
  constructor(
    private readonly source: TaskGraphInput | ((goal: string) => TaskGraphInput),
    private readonly options: { strategies?: StrategiesByKind } = {},
  ) {
    checkStrategiesByKind(options.strategies);
  }

  async plan(goal: string, context: PlanContext): Promise<PlanReport> {
    const input = typeof this.source === 'function' ? this.source(goal) : this.source;
    const graph: TaskGraph = validateTaskGraph(input, {
      roles: context.roles.map((r) => r.name),
      tools: context.tools.map((t) => t.name),
    });
    return { graph: assignStrategies(graph, this.options.strategies, context.roles), attempts: 0, rejected: [] };
  }
}
