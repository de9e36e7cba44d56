/* Threads (conversations over HTTP) as every store keeps them: the embedded file and PostgreSQL. */

/** What a thread does with a message that arrives while its previous run is still going. */
export type DoubleTextPolicy = 'reject' | 'enqueue' | 'interrupt' | 'rollback';

/** A conversation: its owner (API key id and end user), the team or agent that answers, and its window. */
export interface ThreadRecord {
  id: string;
  ownerKey: string;
  ownerUser?: string;
  team?: string;
  agent?: string;
  policy: DoubleTextPolicy;
  /** Tokens the earlier turns may take in each run's context. */
  contextTokens: number;
  metadata: Record<string, unknown>;
  /** The rolling summary of the turns folded out of the window. */
  summary?: string;
  /** The last history entry folded into the summary: a user message's seq, and whether its reply was too. */
  folded?: { seq: number; reply: boolean };
  createdAt: number;
  updatedAt: number;
}

/**
 * A user message is `queued` (waiting for the run before it), `started` (its run exists),
 * `rolled_back` (its run was cancelled and its turn dropped) or `failed` (its run could not start).
 * An assistant message carries the final status of the run that answered.
 */
export type ThreadMessageStatus = 'queued' | 'started' | 'rolled_back' | 'failed' | (string & {});

/** One message of a thread, in order (`seq`). */
export interface ThreadMessage {
  id: string;
  threadId: string;
  seq: number;
  role: 'user' | 'assistant';
  text: string;
  /** The run the message started (user) or that answered it (assistant). */
  runId?: string;
  status: ThreadMessageStatus;
  createdAt: number;
}

/** What {@link ThreadRecords.create} takes: a thread without the fields the store fills in. */
export type NewThread = Omit<ThreadRecord, 'id' | 'createdAt' | 'updatedAt' | 'summary' | 'folded'>;

/** What {@link ThreadRecords.list} filters by: owner key and user, created before (ms), at most `limit`. */
export interface ThreadFilter {
  /** Only this API key's threads; every key's without it. */
  key?: string;
  /** Only this end user's threads. */
  user?: string;
  /** Only threads created strictly before this time (ms since the epoch). */
  before?: number;
  /** At most this many; default 50. */
  limit?: number;
}

/** What {@link ThreadRecords.append} takes: a message without the fields the store fills in. */
export interface NewThreadMessage {
  role: 'user' | 'assistant';
  text: string;
  /** The run the message started (user) or that answered it (assistant). */
  runId?: string;
  status: ThreadMessageStatus;
}

/**
 * Threads and their messages, wherever they are kept: the embedded SQLite file
 * (`sqliteThreadRecords`) or PostgreSQL (`openPostgresThreadStore`). Each method behaves as
 * the ThreadStore method of that name does, and resolves once its write is committed.
 */
export interface ThreadRecords {
  /** Makes a thread (naming either a `team` or an `agent`, else `input_invalid`) and reads it back. */
  create(input: NewThread): Promise<ThreadRecord>;
  /** The thread, whoever owns it (callers check ownership); undefined when there is none. */
  get(id: string): Promise<ThreadRecord | undefined>;
  /**
   * Threads newest first (by createdAt, then id): those of `key` (every key's without one), of
   * `user` when given, created before `before` (ms) when given; at most `limit` (default 50).
   */
  list(filter?: ThreadFilter): Promise<ThreadRecord[]>;
  /** Appends a message, numbered the thread's next seq (1 for the first), and moves the thread's updatedAt. */
  append(threadId: string, message: NewThreadMessage): Promise<ThreadMessage>;
  /** Sets a message's status; a message that does not exist is left alone. */
  setStatus(threadId: string, seq: number, status: ThreadMessageStatus): Promise<void>;
  /**
   * Marks a queued message `started` if it still is `queued`: of any number of callers claiming
   * the same message at once, in one process or several, exactly one gets true.
   */
  claim(threadId: string, seq: number): Promise<boolean>;
  /** The thread's messages in seq order; none for an unknown thread. */
  messages(threadId: string): Promise<ThreadMessage[]>;
  /** Keeps the rolling summary (undefined clears it) and how far it reaches, and moves updatedAt. */
  setSummary(threadId: string, summary: string | undefined, folded: { seq: number; reply: boolean }): Promise<void>;
  /** Ids of the threads with a user message queued or started, in no particular order. */
  unsettled(): Promise<string[]>;
  /** Lets go of what the store holds open (a pool); the store is not used after. */
  close(): Promise<void>;
}
