import type { CadreEventPayload, RunEventStream } from '../../src/core/index.js';

export type { StrategyName } from '../../src/core/index.js';

/** The events a strategy emits besides `model.routed` and `model.response`. */
export type StrategyEventPayload = Extract<CadreEventPayload, { type: 'strategy.node' | 'strategy.decided' }>;

/** Emits a strategy event on the run's stream. */
export function emitStrategyEvent(events: RunEventStream, payload: StrategyEventPayload): void {
  events.emit(payload);
}
