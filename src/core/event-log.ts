import type { CadreEvent } from './events.js';

/** Durable storage for a run's events, so any consumer can replay them from a `seq`. */
export interface EventLog {
  append(event: CadreEvent): void | Promise<void>;
  read(runId: string, fromSeq?: number): CadreEvent[] | Promise<CadreEvent[]>;
  /** Highest seq stored for the run, 0 when none. */
  lastSeq(runId: string): number | Promise<number>;
}
