import { createParser } from 'eventsource-parser';
import { CadreError } from '../core/errors.js';
import type { CadreEvent, RunEventsOptions, RunState, StreamEnd } from './client-types.js';
import { errorOf, type ClientTransport } from './client-transport.js';

/**
 * A run's events read over SSE, as an AsyncIterable. A connection that drops (or that the server
 * cuts off: slow reader, shutdown) is reopened with `Last-Event-ID` = the last seq received, so
 * the events come through once each, in order, with none missing; iteration ends at the stream's
 * final frame (the run completed, failed, was cancelled or waits for approval).
 */
export class RunEventStream implements AsyncIterable<CadreEvent> {
  /** The run's status from the stream's final frame, once iteration ended there. */
  status: RunState | undefined;
  /** The seq of the last stored event received. */
  lastSeq: number | undefined;
  /** How many times the stream was reopened after a drop. */
  reconnects = 0;

  /** @internal Made by `client.runs.events()`. */
  constructor(
    private readonly transport: ClientTransport,
    private readonly runId: string,
    private readonly options: RunEventsOptions = {},
  ) {
    if (options.from !== undefined && options.from > 1) this.lastSeq = options.from - 1;
  }

  /** The run's events in seq order, each once; ends at the stream's final frame. */
  async *[Symbol.asyncIterator](): AsyncGenerator<CadreEvent, void, undefined> {
    const { signal } = this.options;
    const maxRetries = this.options.maxRetries ?? 8;
    let delay = this.options.retryDelayMs ?? 250;
    let failures = 0;
    for (let first = true; !signal?.aborted; first = false) {
      if (!first) {
        if (++failures > maxRetries)
          throw new CadreError('unavailable', `Lost the event stream of run ${this.runId} after ${maxRetries} retries`);
        this.reconnects++;
        await wait(delay, signal);
        delay = Math.min(delay * 2, 5_000);
        if (signal?.aborted) return;
      }
      const before = this.lastSeq;
      let outcome: 'ended' | 'dropped';
      try {
        outcome = yield* this.connect((ms) => (delay = ms));
      } catch (error) {
        if (signal?.aborted) return;
        // An answer the caller must act on (no key, no such run) is thrown; a lost connection is retried.
        if (CadreError.isInstance(error) && error.kind === 'user') throw error;
        outcome = 'dropped';
      }
      if (outcome === 'ended') return;
      if (this.lastSeq !== before) {
        failures = 0;
        delay = this.options.retryDelayMs ?? 250;
      }
    }
  }

  /** One connection: yields its new events; `ended` at a final frame with the run's status. */
  private async *connect(setRetry: (ms: number) => void): AsyncGenerator<CadreEvent, 'ended' | 'dropped', undefined> {
    const resumeAt = this.lastSeq;
    const query = this.options.deltas === false ? '?deltas=false' : '';
    const response = await this.transport.send(`/runs/${encodeURIComponent(this.runId)}/events${query}`, {
      headers: {
        Accept: 'text/event-stream',
        ...(resumeAt !== undefined ? { 'Last-Event-ID': String(resumeAt) } : {}),
      },
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    });
    if (!response.ok) throw await errorOf(response);
    if (!response.body) throw new CadreError('unavailable', 'The event stream has no body');
    const queue: Array<CadreEvent | StreamEnd> = [];
    const parser = createParser({
      onEvent: (message) => queue.push(JSON.parse(message.data) as CadreEvent | StreamEnd),
      onRetry: setRetry,
    });
    // Decoded as read rather than through a TextDecoderStream: one stream stage less per chunk.
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return 'dropped';
        parser.feed(decoder.decode(value, { stream: true }));
        while (queue.length) {
          const item = queue.shift()!;
          if (item.type === 'stream.end') {
            // Cut off with a reason (slow reader, shutdown, read error): what follows comes on a new connection.
            if ((item as StreamEnd).reason) return 'dropped';
            this.status = (item as StreamEnd).status;
            return 'ended';
          }
          const event = item as CadreEvent;
          // A live-only event (a token delta) carries the seq of the stored event before it.
          if (event.type !== 'model.delta') {
            if (this.lastSeq !== undefined && event.seq <= this.lastSeq) continue;
            this.lastSeq = event.seq;
          }
          yield event;
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
