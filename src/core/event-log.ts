import type { CadreEvent } from './events.js';

/** Durable storage for a run's events, so any consumer can replay them from a `seq`. */
export interface EventLog {
  /** Stores one event of a run. */
  append(event: CadreEvent): void | Promise<void>;
  /** The run's events from `fromSeq` (default 1) on, in seq order. */
  read(runId: string, fromSeq?: number): CadreEvent[] | Promise<CadreEvent[]>;
  /** Highest seq stored for the run, 0 when none. */
  lastSeq(runId: string): number | Promise<number>;
  /**
   * Records durably that events up to `upTo` may exist, before they are emitted. A log that batches
   * its writes needs it: a resumed run starts after the reservation, so no seq a listener saw is reused.
   */
  reserve?(runId: string, upTo: number): void;
}
