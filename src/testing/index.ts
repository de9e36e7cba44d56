export * from './scripted-chat-model.js';
export * from './episode-store-conformance.js';
