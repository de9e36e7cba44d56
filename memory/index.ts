/**
 * Long-term memory (episodes, plan templates, a knowledge graph, vectors) and short-term context.
 *
 * @module cadre/memory
 */
export * from './scope.js';
export * from './vector-store.js';
export * from './graph-store.js';
export * from './episode-store.js';
export * from './procedural-store.js';
export * from './in-memory-episode-store.js';
export * from './sqlite-episode-store.js';
export * from './in-memory-procedural-store.js';
export * from './sqlite-procedural-store.js';
export * from './short-term-memory.js';
export * from './recall-context.js';
export * from './vectors.js';
export * from './memory.js';
export * from './create-memory.js';
export { SqliteGraphStore } from './graph/sqlite-graph-store.js';
export { extractFacts, type ExtractFactsOptions } from './graph/extract-facts.js';
export { EmbeddedVectorStore, openEmbeddedVectorStore } from './vector/embedded-vector-store.js';
export type { EmbeddedVectorStoreOptions } from './vector/embedded-vector-store-options.js';
export type { IndexRepair } from './vector/hnsw-index.js';
