import type { CadreEvent, RunStatus } from './events.js';
import type { JournalStep, StepJournal } from './step-journal.js';
import type { RevisionRecord, TaskOutcome, TaskOutcomeStore } from './task-outcomes.js';
import type { ToolCallJournal, ToolCallKey, ToolCallOutcome, ToolCallStart } from './tool-call-journal.js';

/** Where a run stands. `running` whose process is known to be gone is reported as `interrupted`. */
export type RunState = RunStatus | 'running' | 'awaiting_approval' | 'interrupted';

/** One run as a store keeps it (a row of `cadre runs`). */
export interface RunRecord {
  id: string;
  goal: string;
  status: RunState;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
  plan?: unknown;
  result?: unknown;
  /** What a resume needs to rebuild the run the same way (JSON: config overrides, team names, owner). */
  settings?: Record<string, unknown>;
}

/** Which runs {@link RunRecordStore.listOwned} returns: newest first, each filter applied when given. */
export interface RunOwnerFilter {
  /** The API key that started the run (`settings.owner.key`). */
  key?: string;
  /** The end user the run was started for (`settings.owner.user`). */
  user?: string;
  /** Only runs created before this time (ms). */
  before?: number;
  /** At most this many; default 50. */
  limit?: number;
}

/** A new run: recorded as `running`, created and updated now. */
export interface NewRun {
  id: string;
  goal: string;
  settings?: Record<string, unknown>;
}

/** What {@link RunRecordStore.update} changes; `updatedAt` always moves to now. */
export interface RunPatch {
  status?: RunState;
  plan?: unknown;
  result?: unknown;
}

/** A store's runs table, asynchronous so that a database server and the embedded file answer alike. */
export interface RunRecordStore {
  /** Records a new run as `running`. A run id that exists already is `run_conflict`, and the stored run is kept. */
  create(run: NewRun): Promise<void>;
  /** Changes status, plan or result of a run; an unknown id is `run_not_found`. */
  update(id: string, patch: RunPatch): Promise<void>;
  /** The run, or undefined when no run has this id. */
  get(id: string): Promise<RunRecord | undefined>;
  /** The newest runs first, at most `limit` (default 50). */
  list(limit?: number): Promise<RunRecord[]>;
  /** The newest runs first that match every filter given. */
  listOwned(filter: RunOwnerFilter): Promise<RunRecord[]>;
  /**
   * Claims for this process the runs left `running` by a process of this host that is gone (those
   * `accept` takes) and returns them as they were (`interrupted`); of two processes claiming at once,
   * one gets each run.
   */
  claimInterrupted(accept?: (record: RunRecord) => boolean): Promise<RunRecord[]>;
}

/** A store's event log, asynchronous: a run's events by seq, replayable from any seq. */
export interface EventRecordStore {
  /**
   * Stores events (of one run or several) in one write: all of them or, on failure, none. An event
   * whose run and seq are stored already replaces the stored one.
   */
  append(events: readonly CadreEvent[]): Promise<void>;
  /** The run's events from `fromSeq` (default 1) on, in seq order. */
  read(runId: string, fromSeq?: number): Promise<CadreEvent[]>;
  /** Highest seq stored for the run, 0 when none. */
  lastSeq(runId: string): Promise<number>;
  /** Records that seqs up to `upTo` may be in use; a lower reservation never lowers it. */
  reserve(runId: string, upTo: number): Promise<void>;
  /** The seq a resumed run's next event takes: after every stored and every reserved one. */
  nextSeq(runId: string): Promise<number>;
  /**
   * The run's events from `fromSeq` on: those stored, then each one stored later by any process
   * sharing the store, in seq order and each once, until `signal` aborts or the caller stops reading.
   */
  follow(runId: string, fromSeq: number, signal: AbortSignal): AsyncGenerator<CadreEvent, void, undefined>;
}

/** Fencing tokens of runs held under a lease. */
export interface RunFenceStore {
  /**
   * Records `epoch` as the run's fence when it is newer than the one held (or none is); false
   * otherwise. Once it resolves true, no write fenced with an older epoch can still commit.
   */
  take(runId: string, epoch: number): Promise<boolean>;
  /** The run's fence, or undefined when none was taken. */
  epoch(runId: string): Promise<number | undefined>;
}

/**
 * The writes of one run by a worker holding it under a lease ({@link RunStore.fenced}). Each does
 * what the unfenced call of the same name does, unless the run's fence no longer holds the lease's
 * epoch when it commits (or none was ever taken): then it is refused with `lease_lost` and writes
 * nothing. A write naming another run is `input_invalid`.
 */
export interface FencedRunWrites {
  /** The run these writes belong to. */
  readonly runId: string;
  /** The lease's epoch the run's fence must hold. */
  readonly epoch: number;
  /** As {@link RunRecordStore.update}. */
  updateRun(patch: RunPatch): Promise<void>;
  /** As {@link EventRecordStore.append}; every event must be of this run. */
  appendEvents(events: readonly CadreEvent[]): Promise<void>;
  /** As {@link EventRecordStore.reserve}. */
  reserve(upTo: number): Promise<void>;
  /** As {@link StepJournal.append}. */
  appendStep(step: JournalStep): Promise<void>;
  /** As {@link ToolCallJournal.begin}. */
  beginCall(call: ToolCallStart): Promise<void>;
  /** As {@link ToolCallJournal.complete}. */
  completeCall(key: ToolCallKey, outcome: ToolCallOutcome): Promise<void>;
  /** As {@link TaskOutcomeStore.put}. */
  putOutcome(firstAttempt: number, outcome: TaskOutcome): Promise<void>;
  /** As {@link TaskOutcomeStore.putRevision}. */
  putRevision(revision: number, state: RevisionRecord): Promise<void>;
}

/**
 * Runs, their events, their journals and their task outcomes, as every store kind keeps them: the
 * embedded SQLite file and PostgreSQL (`CADRE_DATABASE_URL`). `runStoreConformance`,
 * `stepJournalConformance`, `toolCallJournalConformance`, `taskOutcomeStoreConformance` and
 * `runFenceConformance` in `cadre/testing` define the behaviour both show.
 */
export interface RunStore {
  /** `sqlite` or `postgres`. */
  readonly kind: string;
  readonly runs: RunRecordStore;
  readonly events: EventRecordStore;
  /** Each task attempt's model replies and tool results, replayed when the attempt runs again. */
  readonly steps: StepJournal;
  /** Begun and finished tool calls, so a resumed run does not repeat a call that had effects. */
  readonly toolCalls: ToolCallJournal;
  /** Each finished task's outcome and each plan revision, so a resumed run does not run a finished task again. */
  readonly outcomes: TaskOutcomeStore;
  /** The fencing tokens of runs held under a lease (jobs). */
  readonly fences: RunFenceStore;
  /**
   * The run's writes under a lease's `epoch`, which the caller took with `fences.take`: a worker
   * that lost its lease can then never write the run again.
   */
  fenced(runId: string, epoch: number): FencedRunWrites;
  /** Ends the store's connections; what was written stays. */
  close(): Promise<void>;
}
