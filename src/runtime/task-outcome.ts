// Moved to core, where every store kind can name it; kept here for the imports that use this path.
export type { TaskOutcome } from '../core/index.js';
