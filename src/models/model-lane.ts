import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import PQueue from 'p-queue';
import { CadreError } from '../core/index.js';
import type { PoolModel } from './pool.js';

/** Failures that say a model is unhealthy; a bad request (`model_failed`) says nothing about it. */
export const healthFailure = (e: unknown) =>
  CadreError.isInstance(e) &&
  (e.code === 'provider_error' || e.code === 'rate_limited' || e.code === 'timeout' || e.code === 'model_unavailable');

/** A lane's circuit breaker and call timeout (from `routing.breaker` and `routing.timeoutMs`). */
export interface LaneOptions {
  /** Consecutive failures that open the breaker. */
  failures: number;
  /** How long the breaker stays open before it lets a trial call through. */
  halfOpenAfterMs: number;
  /** Longest a call may take before it counts as failed. */
  timeoutMs: number;
}

/**
 * The way calls reach one model: a queue bounded by its concurrency, a timeout per call and a
 * circuit breaker (cockatiel) that stops sending it work after consecutive failures, lets one trial
 * call through after `halfOpenAfterMs`, and closes again when that succeeds.
 */
export class ModelLane {
  readonly model: PoolModel;
  private readonly queue: PQueue;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly options: LaneOptions;
  private openedAt?: number;
  private latencyMs?: number;
  private active = 0;
  /** Expiry times of reservations, oldest first. */
  private readonly reservations: number[] = [];

  constructor(model: PoolModel, options: LaneOptions) {
    this.model = model;
    this.options = options;
    this.queue = new PQueue({ concurrency: model.concurrency });
    this.breaker = circuitBreaker(handleWhen(healthFailure), {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.failures),
    });
    this.breaker.onBreak(() => (this.openedAt = Date.now()));
    this.breaker.onReset(() => (this.openedAt = undefined));
  }

  /** `open` while the breaker refuses calls; `trial` once it would let one through to test recovery. */
  get health(): 'closed' | 'open' | 'trial' {
    const state = this.breaker.state;
    if (state === CircuitState.Closed) return 'closed';
    if (state === CircuitState.HalfOpen) return 'trial';
    return this.openedAt !== undefined && Date.now() - this.openedAt >= this.options.halfOpenAfterMs ? 'trial' : 'open';
  }

  /**
   * Calls waiting for a free slot, counting calls routed here that have not started yet: tasks that
   * are routed in the same moment must see each other, or none of them would spill.
   */
  get waiting(): number {
    const now = Date.now();
    while (this.reservations.length && this.reservations[0]! <= now) this.reservations.shift();
    return Math.max(this.queue.size, this.active + this.reservations.length - this.model.concurrency);
  }

  /**
   * Counts a call about to come (a routing decision just made) until `release` or `ttlMs`, whichever
   * is first; the timeout covers decisions that are never used.
   */
  reserve(ttlMs = 5000): () => void {
    const expiry = Date.now() + ttlMs;
    this.reservations.push(expiry);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const at = this.reservations.indexOf(expiry);
      if (at !== -1) this.reservations.splice(at, 1);
    };
  }

  /** Calls running or waiting. */
  get inFlight(): number {
    return this.active;
  }

  /** Smoothed latency of successful calls (EWMA), undefined before the first. */
  get typicalLatencyMs(): number | undefined {
    return this.latencyMs;
  }

  /** Runs `call` through the queue, the timeout and the breaker; errors come back as CadreErrors. */
  async run<T>(call: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.active += 1;
    try {
      return await this.queue.add(() => this.attempt(call, signal), signal ? { signal } : {});
    } catch (error) {
      if (signal?.aborted)
        throw new CadreError('cancelled', `Cancelled: call to ${this.model.id} aborted`, { cause: error });
      throw error;
    } finally {
      this.active -= 1;
    }
  }

  private async attempt<T>(call: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const timeoutMs = this.model.timeoutMs ?? this.options.timeoutMs;
    const started = performance.now();
    try {
      const result = await this.breaker.execute(async () => {
        const timer = new AbortController();
        const handle = setTimeout(() => timer.abort(), timeoutMs);
        const both = signal ? AbortSignal.any([signal, timer.signal]) : timer.signal;
        try {
          return await call(both);
        } catch (error) {
          if (timer.signal.aborted && !signal?.aborted) {
            throw new CadreError('timeout', `${this.model.id} did not answer within ${timeoutMs} ms`, {
              cause: error,
              details: { model: this.model.id, timeoutMs },
            });
          }
          throw error;
        } finally {
          clearTimeout(handle);
        }
      });
      const took = performance.now() - started;
      this.latencyMs = this.latencyMs === undefined ? took : this.latencyMs * 0.8 + took * 0.2;
      return result;
    } catch (error) {
      if (isBrokenCircuitError(error)) {
        throw new CadreError('provider_error', `${this.model.id} is failing; its circuit breaker is open`, {
          cause: error,
          details: { model: this.model.id, breaker: 'open' },
        });
      }
      throw error;
    }
  }
}
