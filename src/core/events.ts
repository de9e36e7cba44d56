import type { Usage } from './usage.js';
import type { ErrorCode, ErrorKind } from './errors.js';

/** The JSON shape of an error inside an event. */
export interface ErrorInfo {
  code: ErrorCode;
  kind: ErrorKind;
  message: string;
}

/** A tool call as a model asked for it. */
export interface ToolCallInfo {
  id: string;
  name: string;
  args: Record<string, unknown>;
}

export type RunStatus = 'completed' | 'failed' | 'cancelled' | 'budget_exceeded';

/** Every event payload, keyed by `type`. Add new kinds here and nowhere else. */
export type CadreEventPayload =
  | { type: 'run.started'; goal: string }
  | { type: 'task.started'; taskId: string; agent: string; role?: string }
  | { type: 'model.routed'; taskId: string; model: string; provider: string; reason: string }
  | {
      type: 'model.response';
      taskId: string;
      step: number;
      model: string;
      content: string;
      toolCalls: ToolCallInfo[];
      usage: Usage;
      costUsd: number;
      latencyMs: number;
      replayed: boolean;
    }
  | {
      type: 'tool.called';
      taskId: string;
      step: number;
      callId: string;
      tool: string;
      args: Record<string, unknown>;
      effects: 'read' | 'write' | 'destructive' | 'unknown';
      replayed: boolean;
    }
  | {
      type: 'tool.result';
      taskId: string;
      step: number;
      callId: string;
      tool: string;
      ok: boolean;
      output: string;
      error?: ErrorInfo;
      truncated: boolean;
      attempts: number;
      durationMs: number;
      replayed: boolean;
    }
  | { type: 'task.completed'; taskId: string; answer: string; steps: number; usage: Usage; costUsd: number }
  | { type: 'task.failed'; taskId: string; error: ErrorInfo }
  | { type: 'budget.exceeded'; limit: 'steps' | 'tokens' | 'costUsd' | 'wallTimeMs'; used: number; max: number }
  | {
      type: 'run.completed';
      status: RunStatus;
      answer: string | null;
      usage: Usage;
      costUsd: number;
      steps: number;
      durationMs: number;
      error?: ErrorInfo;
    }
  | { type: 'run.cancelled'; reason: string };

export type CadreEventType = CadreEventPayload['type'];

/** An event as consumers see it: a payload stamped with its run, sequence number and time. */
export type CadreEvent = CadreEventPayload & {
  runId: string;
  /** Monotonic within a run, starting at 1; replay from any seq. */
  seq: number;
  /** Milliseconds since the epoch. */
  ts: number;
};

/** The event of one type. */
export type CadreEventOf<T extends CadreEventType> = Extract<CadreEvent, { type: T }>;
