/**
 * cadre: plan a goal, run it with agents over local and cloud models, stream what happens.
 *
 * @module cadre
 */
export * from './runtime/index.js';
export * from './core/index.js';
// The app registry: teams and agents by name (`cadre.app.ts`); the demo team loads on first use.
export * from './app/index.js';
// Types that the run and store signatures above name; type-only, so the root import stays light.
export type { ModelSpend } from './runtime/run-types.js';
export type {
  OpenDatabaseOptions,
  RevisionRecord,
  RunFences,
  RunRegistry,
  SqliteEventLog,
  SqliteStepJournal,
  SqliteToolCallJournal,
  TaskOutcomeLog,
} from './runtime/store/index.js';
