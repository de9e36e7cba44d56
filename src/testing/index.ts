/**
 * Offline testing: a scripted chat model and conformance suites for your own stores.
 *
 * @module cadre/testing
 */
export * from './scripted-chat-model.js';
export * from './episode-store-conformance.js';
export * from './vector-store-conformance.js';
export * from './procedural-store-conformance.js';
export * from './graph-store-conformance.js';
export {
  checkGame24,
  game24Solutions,
  judgeGame24,
  solve24,
  type Game24Solution,
  type Game24Verdict,
} from './game24.js';
export { game24Model, game24Task, type Game24ModelOptions } from './game24-model.js';
export { mulberry32 } from './seeded-random.js';
export { jobQueueConformance, type JobQueueConformanceOptions } from './job-queue-conformance.js';
export type { ConformanceOptions } from './conformance-kit.js';
export { runStoreConformance, type RunStoreConformanceOptions } from './run-store-conformance.js';
export { stepJournalConformance, type StepJournalConformanceOptions } from './step-journal-conformance.js';
export { toolCallJournalConformance, type ToolCallJournalConformanceOptions } from './tool-call-journal-conformance.js';
export { taskOutcomeStoreConformance, type TaskOutcomeStoreConformanceOptions } from './task-outcome-conformance.js';
export { runFenceConformance, type RunFenceConformanceOptions } from './run-fence-conformance.js';
export * from './thread-store-conformance.js';
export { apiKeyStoreConformance } from './api-key-store-conformance.js';
