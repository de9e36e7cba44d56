import type { AIMessage, BaseMessage } from '@langchain/core/messages';
import type { TaskGraph } from './task-graph.js';

/** What a planner knows about the run it plans for. */
export interface PlanContext {
  /** The team's roles; `kind` is the routing task kind of a role's work, when it declares one. */
  roles: ReadonlyArray<{ name: string; description?: string; kind?: string }>;
  tools: ReadonlyArray<{ name: string; description: string }>;
  signal?: AbortSignal;
  /** Recalled memory: lessons, past plans, facts. */
  hints?: string;
  /** Called before each planning model call: the runtime checks the run's budget here. */
  beforeModelCall?: (messages: readonly BaseMessage[]) => void;
  /** Called with each planning reply: the runtime charges it to the run and emits an event. */
  afterModelCall?: (reply: AIMessage, latencyMs: number) => void;
}

/** A plan and how it came about. */
export interface PlanReport {
  graph: TaskGraph;
  /** Model calls it took, repairs included. */
  attempts: number;
  /** The problems found in each rejected attempt, in order. */
  rejected: string[];
}

/** Turns a goal into a validated task graph. */
export interface Planner {
  /** Plans the goal for the run's roles and tools; throws `plan_invalid` when no valid plan comes of it. */
  plan(goal: string, context: PlanContext): Promise<PlanReport>;
}

/** What went wrong, for a replanner. */
export interface TaskFailure {
  taskId: string;
  error: string;
  /** Tasks that finished; a revision must not change them. */
  completed: ReadonlySet<string>;
}

/** Rewrites the failed part of a plan. */
export interface Replanner {
  /** The plan with its failed part rewritten; finished tasks stay as they were. */
  revise(graph: TaskGraph, failure: TaskFailure, context: PlanContext): Promise<TaskGraph>;
}
