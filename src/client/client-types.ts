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
