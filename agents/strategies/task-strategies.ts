/**
 * The strategies a task of a plan can name. `react` is the role's own agent (a ReActAgent for a
 * role given as a spec), for a task that opts out of a planner's per-kind default.
 */
export const taskStrategies = ['react', 'cot', 'self-consistency', 'tree-of-thoughts', 'lats'] as const;

/** One of {@link taskStrategies}. */
export type TaskStrategy = (typeof taskStrategies)[number];

/** Whether `name` is one of {@link taskStrategies}. */
export const isTaskStrategy = (name: string): name is TaskStrategy =>
  (taskStrategies as readonly string[]).includes(name);
