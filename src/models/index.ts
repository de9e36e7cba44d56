/**
 * Chat models and embedders: providers, the model pool, routing by policy and load, pricing and privacy.
 *
 * @module cadre/models
 */
export * from './model-ref.js';
export * from './provider.js';
export * from './ollama-provider.js';
export * from './openai-compatible-provider.js';
export * from './anthropic-provider.js';
export * from './usage.js';
export * from './pricing.js';
export * from './model-errors.js';
export * from './invoke-model.js';
export * from './stream-model.js';
export {
  createFixedRouter,
  type AnswerCheck,
  type Capability,
  type ModelRouter,
  type Reroute,
  type RouteDecision,
  type RouteRequest,
} from './router.js';
export * from './detect.js';
export * from './router-from-config.js';
export * from './embedder.js';
export * from './hashing-embedder.js';
export * from './ollama-embedder.js';
export * from './openai-compatible-embedder.js';
export * from './privacy-scope.js';
export * from './private-embedder.js';
export * from './capability-cache.js';
export { probeModel, withProbedCapabilities, type ProbeHttpOptions, type ProbeModelOptions } from './probe.js';
export * from './pool.js';
export * from './pii.js';
export * from './routing-config.js';
export * from './call-estimate.js';
export * from './model-lane.js';
export * from './routed-chat-model.js';
export * from './model-delta.js';
export * from './policy-router.js';
export {
  createLoadMonitor,
  metricsLoadSource,
  ollamaLoadSource,
  type LoadMonitor,
  type LoadMonitorOptions,
  type LoadSource,
  type LoadSourceOptions,
  type ModelLoad,
} from './load-monitor.js';
export * from './pool-from-config.js';
