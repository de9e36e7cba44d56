import { z } from 'zod';

const id = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'ids are 1-64 letters, digits, _ or -');

/** A task's own limits, within the run's budget: exceeding one fails only that task. */
export const TaskBudgetSchema = z.object({
  maxSteps: z.number().int().positive().optional(),
  maxTokens: z.number().int().positive().optional(),
  maxCostUsd: z.number().nonnegative().optional(),
});

/** One task of a plan. JSON-serialisable: plans go into checkpoints and events. */
export const TaskSchema = z.object({
  id,
  title: z.string().min(1).max(200),
  instruction: z.string().min(1),
  role: z.string().min(1),
  dependsOn: z.array(id).default([]),
  /** Tools the task may use; omitted means the role's own tools. */
  tools: z.array(z.string().min(1)).optional(),
  output: z
    .object({ description: z.string().optional(), schema: z.record(z.string(), z.unknown()).optional() })
    .optional(),
  budget: TaskBudgetSchema.optional(),
  /**
   * How the role's agent reasons on this task: `react` (the role's own agent), `cot`,
   * `self-consistency`, `tree-of-thoughts` or `lats`. Omitted: the planner's default for the
   * task's kind, else the role's own agent.
   */
  strategy: z.string().min(1).optional(),
});

/** A goal broken into tasks with dependencies: the unit the orchestrator executes. */
export const TaskGraphSchema = z.object({
  goal: z.string().min(1),
  tasks: z.array(TaskSchema),
});

/** One task of a plan, as {@link TaskSchema} checks it (defaults filled in). */
export type Task = z.infer<typeof TaskSchema>;
/** A goal broken into tasks with dependencies, as {@link TaskGraphSchema} checks it (defaults filled in). */
export type TaskGraph = z.infer<typeof TaskGraphSchema>;
/** A task graph as written before parsing: `dependsOn` may be left out. */
export type TaskGraphInput = z.input<typeof TaskGraphSchema>;
