import type { ErrorInfo } from './events.js';

/** Identifies one tool call in one task of one run. */
export interface ToolCallKey {
  runId: string;
  taskId: string;
  callId: string;
}

/** The recorded result of a finished tool call. */
export interface ToolCallOutcome {
  ok: boolean;
  output: string;
  error?: ErrorInfo;
}

export interface ToolCallRecord extends ToolCallKey {
  tool: string;
  args: Record<string, unknown>;
  /** `started` with no completion means the process stopped while the call was in flight. */
  state: 'started' | 'completed';
  outcome?: ToolCallOutcome;
  startedAt: number;
  completedAt?: number;
}

/**
 * The idempotency journal for tool calls with effects: written before and after each call, so that
 * after a crash a finished call returns its recorded result and an unfinished one is reported
 * instead of silently repeated.
 */
export interface ToolCallJournal {
  begin(call: ToolCallKey & { tool: string; args: Record<string, unknown> }): void | Promise<void>;
  complete(key: ToolCallKey, outcome: ToolCallOutcome): void | Promise<void>;
  get(key: ToolCallKey): ToolCallRecord | undefined | Promise<ToolCallRecord | undefined>;
}

const keyOf = (k: ToolCallKey) => `${k.runId}\u0000${k.taskId}\u0000${k.callId}`;

/** A ToolCallJournal in memory, for single-process runs and tests. */
export class InMemoryToolCallJournal implements ToolCallJournal {
  private readonly records = new Map<string, ToolCallRecord>();

  begin(call: ToolCallKey & { tool: string; args: Record<string, unknown> }): void {
    this.records.set(keyOf(call), { ...call, state: 'started', startedAt: Date.now() });
  }

  complete(key: ToolCallKey, outcome: ToolCallOutcome): void {
    const record = this.records.get(keyOf(key));
    if (record) this.records.set(keyOf(key), { ...record, state: 'completed', outcome, completedAt: Date.now() });
  }

  get(key: ToolCallKey): ToolCallRecord | undefined {
    return this.records.get(keyOf(key));
  }
}
