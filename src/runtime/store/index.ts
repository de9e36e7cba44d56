export * from './database.js';
export * from './cadre-store.js';
export * from './run-registry.js';
export * from './sqlite-event-log.js';
export * from './sqlite-step-journal.js';
export * from './sqlite-tool-call-journal.js';
export * from './task-outcome-log.js';
export * from './write-batch.js';
