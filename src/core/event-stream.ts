import { EventEmitter } from 'eventemitter3';
import {
  isTransientEvent,
  transientEventTypes,
  type CadreEvent,
  type CadreEventOf,
  type CadreEventPayload,
  type CadreEventType,
} from './events.js';
import type { EventLog } from './event-log.js';
import { redact } from './redact.js';

/** Where a run's event stream keeps its events, and where a resumed run's numbering starts. */
export interface RunEventStreamOptions {
  /** Every event is appended here as it is emitted, e.g. SQLite for replay after a restart. */
  log?: EventLog;
  /** Events before this seq were emitted by an earlier process (a resumed run); read them from `log`. */
  startSeq?: number;
}

/** @inline */
type Listener<T extends CadreEventType> = (event: CadreEventOf<T>) => void;

/** What `events()` yields besides the stored events. */
export interface RunEventsOptions {
  /** Also yield transient events (`model.delta`) emitted while iterating, each after the stored event it follows. */
  transient?: boolean;
}

/**
 * The event log of one run: stamps each payload with `seq` and time, redacts secrets, keeps the
 * events in order, and hands them out as callbacks or as an AsyncIterable that replays from any seq.
 */
export class RunEventStream {
  readonly runId: string;
  private readonly log: CadreEvent[] = [];
  private readonly emitter = new EventEmitter();
  private closed = false;
  /**
   * What waiting iterators await: one promise for all of them, settled and replaced at each event, so
   * an event wakes N followers in O(N) (a one-shot listener each would cost O(N²) to remove).
   */
  private waiting: { promise: Promise<void>; resolve: () => void } | undefined;
  private readonly persisted?: EventLog;
  /** seq of the last event emitted before this stream was created. */
  private readonly offset: number;
  /** Highest seq the log has reserved for this stream (see EventLog.reserve). */
  private reserved: number;

  constructor(runId: string, options: RunEventStreamOptions = {}) {
    this.runId = runId;
    this.persisted = options.log;
    this.offset = Math.max(0, (options.startSeq ?? 1) - 1);
    this.reserved = this.offset;
  }

  /**
   * Appends an event and notifies listeners. Events after `close()` are dropped. A transient event
   * (`model.delta`) only notifies its own listeners and transient iterators, never '*': it is
   * neither kept nor stored and takes no seq.
   */
  emit(payload: CadreEventPayload): CadreEvent | undefined {
    if (this.closed) return undefined;
    if (isTransientEvent(payload.type)) return this.notify(payload);
    const event = this.stamp(payload, this.offset + this.log.length + 1);
    this.log.push(event);
    this.persist(event);
    this.emitter.emit(event.type, event);
    this.emitter.emit('*', event);
    this.wakeIterators();
    return event;
  }

  /**
   * The payload as an event: redacted, with the run's id, `seq` and the time. `redact` returns a copy
   * of its own, so the stamps are added to it rather than copied into yet another object.
   */
  private stamp(payload: CadreEventPayload, seq: number): CadreEvent {
    const event = redact(payload) as CadreEventPayload & Pick<CadreEvent, 'runId' | 'seq' | 'ts'>;
    event.runId = this.runId;
    event.seq = seq;
    event.ts = Date.now();
    return event as CadreEvent;
  }

  private notify(payload: CadreEventPayload): CadreEvent {
    const event = this.stamp(payload, this.offset + this.log.length);
    // '*' means every stored event: a logger of all events is not flooded with deltas.
    this.emitter.emit(event.type, event);
    this.wakeIterators();
    return event;
  }

  /**
   * Whether anything listens live for events of `type`: a callback for it, a '*' callback (stored
   * types only), or for a transient type an iterator that asked for transient events. Lets a
   * producer skip work nobody would see, such as streaming a model's reply.
   */
  hasListeners(type: CadreEventType): boolean {
    const own = this.emitter.listenerCount(type);
    return isTransientEvent(type) ? own > 0 : own + this.emitter.listenerCount('*') > 0;
  }

  /** Reserves the first block of seqs now (one durable write), before any event is emitted. */
  reserveSeqs(): void {
    this.reserveFrom(this.offset + 1);
  }

  // Seqs are reserved in blocks of 256, one durable write per block rather than one per event.
  private reserveFrom(seq: number): void {
    if (!this.persisted?.reserve) return;
    this.reserved = seq + 255;
    this.persisted.reserve(this.runId, this.reserved);
  }

  /** The first failure to store an event, if any; events stay available in memory either way. */
  persistError: Error | undefined;

  // A full disk must not crash the agent that emitted the event: the failure is kept for the run
  // to report, and in-process consumers still get every event.
  private persist(event: CadreEvent): void {
    if (!this.persisted) return;
    const remember = (error: unknown) => {
      this.persistError ??= error instanceof Error ? error : new Error(String(error));
    };
    try {
      if (event.seq > this.reserved) this.reserveFrom(event.seq);
      const pending = this.persisted.append(event);
      if (pending instanceof Promise) pending.catch(remember);
    } catch (error) {
      remember(error);
    }
  }

  /**
   * Calls `listener` for each new event of `type` ('*' for every stored event, without the transient
   * `model.delta`, which only its own listeners get); returns an unsubscribe function.
   */
  on<T extends CadreEventType>(type: T, listener: Listener<T>): () => void;
  /** Calls `listener` for each new stored event, of every type; returns an unsubscribe function. */
  on(type: '*', listener: (event: CadreEvent) => void): () => void;
  on(type: string, listener: (event: CadreEvent) => void): () => void {
    this.emitter.on(type, listener);
    return () => this.emitter.off(type, listener);
  }

  /** Events emitted by this stream so far, in order (a resumed run's earlier events are in its log). */
  history(): readonly CadreEvent[] {
    return this.log;
  }

  /** Whether `close()` was called: later events are dropped. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Wakes every iterator waiting for the next event. */
  private wakeIterators(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve();
  }

  /** Resolves at the next event (or close). */
  private nextEvent(): Promise<void> {
    if (!this.waiting) {
      let resolve!: () => void;
      const promise = new Promise<void>((settle) => (resolve = settle));
      this.waiting = { promise, resolve };
    }
    return this.waiting.promise;
  }

  /** Ends the stream: iterators finish after yielding what is left. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wakeIterators();
  }

  /**
   * Yields every event with `seq >= fromSeq` (already emitted ones first), then live ones until close;
   * with `transient`, also the transient events emitted from the first `next()` on.
   */
  async *events(fromSeq = 1, options: RunEventsOptions = {}): AsyncGenerator<CadreEvent, void, undefined> {
    const live: CadreEvent[] = [];
    const keep = (event: CadreEvent) => live.push(event);
    if (options.transient) for (const type of transientEventTypes) this.emitter.on(type, keep);
    try {
      let next = Math.max(1, fromSeq);
      if (next <= this.offset && this.persisted) {
        for (const event of await this.persisted.read(this.runId, next)) {
          if (event.seq > this.offset) break;
          yield event;
        }
      }
      next = Math.max(next, this.offset + 1);
      while (true) {
        // A transient event goes right after the stored event it follows.
        while (live.length > 0 && live[0]!.seq < next) yield live.shift()!;
        if (next - this.offset <= this.log.length) {
          yield this.log[next - this.offset - 1] as CadreEvent;
          next += 1;
          continue;
        }
        if (this.closed) {
          yield* live.splice(0);
          return;
        }
        await this.nextEvent();
      }
    } finally {
      for (const type of transientEventTypes) this.emitter.off(type, keep);
    }
  }
}
