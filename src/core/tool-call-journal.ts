import { hash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { CadreError } from './errors.js';
import type { ErrorInfo } from './events.js';

/**
 * Identifies one tool call in one task attempt of one run. `callId` is cadre's own identity of the
 * call — its position (`<step>.<n>`) in the attempt's step journal — never an id a model sent, since
 * models reuse those (per message, per turn, or after a restart).
 */
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

/** What `begin` records: the call's identity, the tool, its arguments and their digest. */
export interface ToolCallStart extends ToolCallKey {
  tool: string;
  args: Record<string, unknown>;
  /** `callDigest(tool, args)`: compared when the same identity is asked for again. */
  digest: string;
}

/** One journaled tool call: begun, and completed once it finished. */
export interface ToolCallRecord extends ToolCallKey {
  tool: string;
  args: Record<string, unknown>;
  /** Absent on records written before digests were kept. */
  digest?: string;
  /** `started` with no completion means the process stopped while the call was in flight. */
  state: 'started' | 'completed';
  outcome?: ToolCallOutcome;
  startedAt: number;
  completedAt?: number;
}

/**
 * The idempotency journal for tool calls with effects: written before and after each call, so that
 * after a crash a finished call returns its recorded result and an unfinished one is re-run (when
 * the tool is idempotent or keyed) or reported instead of silently repeated.
 */
export interface ToolCallJournal {
  /** Records that a call is about to run. */
  begin(call: ToolCallStart): void | Promise<void>;
  /** Records how a begun call ended. */
  complete(key: ToolCallKey, outcome: ToolCallOutcome): void | Promise<void>;
  /** The record of a call, if it was begun. */
  get(key: ToolCallKey): ToolCallRecord | undefined | Promise<ToolCallRecord | undefined>;
}

/** A digest of a tool name and its canonical arguments: equal calls, equal digests. */
export function callDigest(tool: string, args: unknown): string {
  return hash('sha256', `${tool}\u0000${canonicalJson(args ?? {})}`, 'base64url');
}

/**
 * The idempotency key handed to a tool: stable for one call identity across retries, resumes and
 * processes, and different for every other call (another run, task attempt or position).
 */
export function idempotencyKeyOf(key: ToolCallKey): string {
  const digest = hash('sha256', `${key.runId}\u0000${key.taskId}\u0000${key.callId}`, 'base64url');
  return `cadre-${digest.slice(0, 32)}`;
}

/**
 * The error for a journal that recorded another call at this position: the call asked for is
 * neither run nor answered from the journal.
 */
export function journalMismatch(key: ToolCallKey, recorded: string, asked: string): CadreError {
  return new CadreError(
    'journal_mismatch',
    `The journal recorded ${recorded} at call ${key.callId} of ${key.taskId}, but ${asked} with other arguments was asked; it was neither run nor answered from the journal.`,
    { details: { ...key, recorded, asked } },
  );
}

const keyOf = (k: ToolCallKey) => `${k.runId}\u0000${k.taskId}\u0000${k.callId}`;

/** A ToolCallJournal in memory, for single-process runs and tests. */
export class InMemoryToolCallJournal implements ToolCallJournal {
  private readonly records = new Map<string, ToolCallRecord>();

  begin(call: ToolCallStart): void {
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
