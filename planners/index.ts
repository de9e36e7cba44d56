/**
 * Planners that turn a goal into a task graph, the graph's checks and operations, and replanning.
 *
 * @module cadre/planners
 */
export * from './task-graph.js';
export * from './validate-task-graph.js';
export * from './task-graph-ops.js';
export * from './planner.js';
export { extractPlan } from './structured-plan.js';
export * from './llm-planner.js';
export * from './strategies-by-kind.js';
export * from './replanner.js';
export * from './output-schema.js';
