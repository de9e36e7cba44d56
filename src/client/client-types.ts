import type { CadreEvent } from '../core/events.js';

export type { CadreEvent };

/** Where a run stands, as the server reports it. */
export type RunState =
  | 'running'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'budget_exceeded'
  | 'rejected'
  | 'awaiting_approval'
  | 'interrupted';

/** Limits one run may use; each only lowers what the server allows. */
export interface RunBudget {
  maxSteps?: number;
  maxTokens?: number;
  maxCostUsd?: number;
  maxWallTimeMs?: number;
}

/** The body of `runs.create`: a registered team or agent (one of them) and the goal. */
export interface CreateRunInput {
  team?: string;
  agent?: string;
  goal: string;
  budget?: RunBudget;
  privacy?: 'public' | 'sensitive';
  metadata?: Record<string, unknown>;
}

/** A run as the server shows it. */
export interface Run {
  id: string;
  goal: string;
  status: RunState;
  team?: string;
  agent?: string;
  user?: string;
  metadata: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  plan?: unknown;
  /** Once the run ended or stopped: its answer, usage, cost and, when waiting, what it waits for. */
  result?: Record<string, unknown>;
}

/** The answer to what a run at `awaiting_approval` waits for (its plan or a tool call). */
export interface ApprovalDecision {
  action: 'approve' | 'edit' | 'reject';
  /** For `edit` of a plan: the edited task graph. */
  graph?: unknown;
  reason?: string;
}

/** How `runs.events` follows a run. */
export interface RunEventsOptions {
  /** The first seq to read (default 1: the whole log). */
  from?: number;
  /** Stops following; the iteration ends without an error. */
  signal?: AbortSignal;
  /** Reconnections in a row that bring no new event before giving up (default 8). */
  maxRetries?: number;
  /** The first wait before reconnecting, doubled after each fruitless try up to 5 s (default 250 ms). */
  retryDelayMs?: number;
  /** `false`: no live `model.delta` events (each reply's tokens as they come). Default true. */
  deltas?: boolean;
}

/** The frame that ends every event stream: the run's status, or why the server cut the stream off. */
export interface StreamEnd {
  type: 'stream.end';
  runId: string;
  status?: RunState;
  reason?: 'slow_consumer' | 'server_shutdown' | 'error';
  message?: string;
  lastSeq?: number;
}

/** What a thread does with a message that arrives while its previous run is still going. */
export type DoubleTextPolicy = 'reject' | 'enqueue' | 'interrupt' | 'rollback';

/** The body of `threads.create`: the registered team or agent (one of them) that answers. */
export interface CreateThreadInput {
  team?: string;
  agent?: string;
  /** Default `enqueue`. */
  policy?: DoubleTextPolicy;
  metadata?: Record<string, unknown>;
  /** Tokens the earlier turns may take in each run's context (older turns are summarised). */
  contextTokens?: number;
}

/** A conversation as the server shows it. */
export interface Thread {
  id: string;
  team?: string;
  agent?: string;
  user?: string;
  policy: DoubleTextPolicy;
  contextTokens: number;
  metadata: Record<string, unknown>;
  summary?: string;
  createdAt: number;
  updatedAt: number;
}

/** One turn of a thread. */
export interface ThreadMessage {
  id: string;
  seq: number;
  role: 'user' | 'assistant';
  text: string;
  /** The run the message started (user) or that answered it (assistant). */
  runId?: string;
  status: string;
  createdAt: number;
}

/** A thread with its messages and runs. */
export interface ThreadDetail extends Thread {
  messages: ThreadMessage[];
  runs: Run[];
}

/** What `threads.send` answers: the message, and the run answering it (started, or queued with its id). */
export interface PostedMessage {
  message: ThreadMessage;
  runId: string;
  queued: boolean;
  run?: Run;
}
