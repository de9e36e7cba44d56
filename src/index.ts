/** cadre: plan a goal, run it with agents over local and cloud models, stream what happens. */
export * from './runtime/index.js';
export * from './core/index.js';
