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
