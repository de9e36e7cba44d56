export * from './episode-store.js';
export * from './in-memory-episode-store.js';
export * from './sqlite-episode-store.js';
