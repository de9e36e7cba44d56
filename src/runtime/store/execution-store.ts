import type { BaseCheckpointSaver } from '@langchain/langgraph';
import type {
  EventLog,
  JournalStep,
  NewRun,
  RevisionRecord,
  RunPatch,
  RunRecord,
  StepJournal,
  TaskOutcome,
  ToolCallJournal,
} from '../../core/index.js';
import type { AuditSink } from '../../../tools/policy/index.js';
import type { SqliteDatabase } from './database.js';

type Maybe<T> = T | Promise<T>;

/**
 * What one execution of a run (a start or a resume) reads and writes, on whichever store the config
 * names: the embedded file answers at once ({@link CadreStore} is one), PostgreSQL through promises.
 * The runtime awaits every call, so both carry a run out the same way.
 */
export interface ExecutionStore {
  /** `sqlite` or `postgres`. */
  readonly kind: 'sqlite' | 'postgres';
  /** Where the runs are, for messages: the database file, or the PostgreSQL server and database. */
  readonly path: string;
  readonly runs: {
    get(id: string): Maybe<RunRecord | undefined>;
    create(run: NewRun): Maybe<void>;
    update(id: string, patch: RunPatch): Maybe<void>;
  };
  readonly events: EventLog & {
    /** The seq a resumed run's next event takes: after every stored and every reserved one. */
    nextSeq(runId: string): Maybe<number>;
  };
  readonly steps: StepJournal & {
    /** Keeps a new run's steps in memory as they are appended, for its trace (the embedded journal). */
    keep?(runId: string): void;
    takeKept?(runId: string): ReadonlyMap<string, readonly JournalStep[]> | undefined;
  };
  readonly toolCalls: ToolCallJournal;
  /** Each finished task's outcome and each plan revision; a write is committed once it returns or resolves. */
  readonly outcomes: {
    put(runId: string, firstAttempt: number, outcome: TaskOutcome): Maybe<void>;
    get(runId: string, taskId: string, firstAttempt: number): Maybe<TaskOutcome | undefined>;
    putRevision(runId: string, revision: number, state: RevisionRecord): Maybe<void>;
    lastRevision(runId: string): Maybe<(RevisionRecord & { revision: number }) | undefined>;
  };
  /** LangGraph's checkpointer on the same store, loaded (with LangGraph) on first use. */
  checkpointer(): Promise<BaseCheckpointSaver>;
  /**
   * The machine's own SQLite file: the model capability cache, the tool audit log and pins. The
   * embedded store is that file; a PostgreSQL store keeps it beside it, in the data folder.
   */
  readonly db: SqliteDatabase;
  /** Resolves once every write made so far is stored (events are written in the background). */
  flush?(): Promise<void>;
  /** Where the run's tool calls are audited; unset: the audit log in {@link db}. */
  readonly audit?: AuditSink;
}
