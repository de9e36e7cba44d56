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

/**
 * A piece of a tool call as a model streams it. `index` tells parallel calls of one reply apart;
 * `id` and `name` come with a call's first piece, and its `argsDelta`s joined in order are the JSON
 * of its arguments.
 */
export interface ToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  argsDelta: string;
}

/** A plan as events carry it: plain JSON, the same shape as planners' TaskGraph. */
export interface PlanGraphInfo {
  goal: string;
  tasks: Array<{ id: string; title: string; role: string; dependsOn: string[]; instruction: string }>;
}

/** How a run ended; `awaiting_approval` runs continue with `resume(runId, { decision })`. */
export type RunStatus = 'completed' | 'failed' | 'cancelled' | 'budget_exceeded' | 'rejected' | 'awaiting_approval';

/** The reasoning strategies that report their search in events. */
export type StrategyName = 'cot' | 'self-consistency' | 'tree-of-thoughts' | 'lats';

/** Every event payload, keyed by `type`. Add new kinds here and nowhere else. */
export type CadreEventPayload =
  | { type: 'run.started'; goal: string }
  | { type: 'run.resumed'; goal: string }
  | { type: 'plan.created'; graph: PlanGraphInfo; attempts: number; rejected: string[]; reusedFrom?: string }
  | { type: 'plan.approval'; decision: 'approved' | 'edited' | 'rejected'; reason?: string }
  | { type: 'plan.revised'; graph: PlanGraphInfo; failedTaskId: string; reason: string }
  | { type: 'plan.revision_failed'; failedTaskId: string; error: ErrorInfo }
  | { type: 'task.started'; taskId: string; agent: string; role?: string; title?: string; attempt?: number }
  | { type: 'task.skipped'; taskId: string; reason: string }
  | { type: 'task.reflected'; taskId: string; attempt: number; feedback: string; lesson: string }
  | { type: 'task.delegated'; taskId: string; role: string; question: string; depth: number }
  | { type: 'memory.recalled'; taskId: string; kind: 'lessons' | 'context'; items: string[] }
  | { type: 'memory.written'; taskId: string; kind: 'task_result' | 'episode' | 'plan' | 'facts'; id: string }
  /** A memory step left out because its text may not reach the cloud embedder; kinds of data found, never values. */
  | {
      type: 'memory.skipped';
      taskId: string;
      kind: 'task_result' | 'plan' | 'recall';
      reason: 'sensitive' | 'personal_data';
      found?: string[];
      model: string;
    }
  | {
      /** A model was chosen for a task's calls, or a call moved to another (`change`). Never holds prompt text. */
      type: 'model.routed';
      taskId: string;
      model: string;
      provider: string;
      reason: string;
      change?: 'fallback' | 'escalate' | 'privacy';
      privacy?: 'public' | 'sensitive';
      /** `provider:model` of the models tried next, in order. */
      fallbacks?: string[];
    }
  | {
      /**
       * A piece of a model's reply as it streams: text to append, or a piece of a tool call's
       * arguments (exactly one of the two). Live only: listeners get it, the event log does not keep
       * it, and it takes no seq of its own; the `model.response` of the same `step` carries the whole
       * reply, so a client that connects later reads that instead.
       */
      type: 'model.delta';
      taskId: string;
      agent: string;
      /** The step whose `model.response` completes this reply. */
      step: number;
      text?: string;
      toolCall?: ToolCallDelta;
    }
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
  | {
      /** A tool call waits for a person's decision; the run stops with status `awaiting_approval`. */
      type: 'tool.approval_requested';
      taskId: string;
      callId?: string;
      tool: string;
      /** Redacted. */
      args: Record<string, unknown>;
      effects: 'read' | 'write' | 'destructive';
      reason: string;
    }
  | {
      type: 'tool.approval';
      taskId: string;
      callId?: string;
      tool: string;
      decision: 'approved' | 'rejected';
      reason?: string;
    }
  | { type: 'tool.progress'; tool: string; callId: string; progress: number; total?: number; message?: string }
  | { type: 'tool.quarantined'; tool: string; changes: string[] }
  | { type: 'mcp.server'; server: string; state: string; error?: ErrorInfo }
  | {
      /** An MCP server asked the user a question during a tool call; the run stops with status `awaiting_approval`. */
      type: 'mcp.elicitation_requested';
      server: string;
      tool: string;
      message: string;
      taskId: string;
      callId: string;
    }
  /** The answer a resumed run gives an MCP server's question; the content is the server's, never in the event. */
  | { type: 'mcp.elicitation_answered'; server: string; action: 'accept' | 'decline' }
  | {
      type: 'task.completed';
      taskId: string;
      answer: string;
      steps: number;
      usage: Usage;
      costUsd: number;
      toolErrors?: number;
    }
  | { type: 'task.failed'; taskId: string; error: ErrorInfo; attempt?: number; willRetry?: boolean }
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
  | { type: 'run.cancelled'; reason: string }
  /** Each node of a reasoning strategy's search (a sample, a thought, a trajectory step) and its final pick. */
  | {
      /** A node of a strategy's search; `node` ids are stable across a resumed run, `parent` links the tree. */
      type: 'strategy.node';
      taskId: string;
      strategy: StrategyName;
      node: string;
      parent?: string;
      depth: number;
      /** The thought, the sampled answer, or the trajectory step's reply. */
      text: string;
      /** The evaluator's value of the node, larger is better; for a sample, absent. */
      value?: number;
      status: 'proposed' | 'kept' | 'pruned' | 'answer' | 'failed' | 'reflected';
    }
  | {
      /** What a strategy settled on, with how sure it is and how much search it took. */
      type: 'strategy.decided';
      taskId: string;
      strategy: StrategyName;
      answer: string;
      /** Self-consistency: the winner's share of the votes, in [0, 1]. */
      confidence?: number;
      votes?: Record<string, number>;
      /** Model calls the strategy made or replayed. */
      calls: number;
      /** Self-consistency stopped sampling once the winner was certain. */
      stoppedEarly?: boolean;
      /** Tree searches: nodes valued in all. */
      nodes?: number;
      /** Tree searches: whether a node reached an answer that its evaluation accepted. */
      solved?: boolean;
    };

/** The `type` of every event, such as `run.started` or `tool.called`. */
export type CadreEventType = CadreEventPayload['type'];

/** Event types that reach live listeners only: never stored, replayed or given a seq of their own. */
export const transientEventTypes: ReadonlySet<CadreEventType> = new Set<CadreEventType>(['model.delta']);

/** Whether events of `type` are live only (see {@link transientEventTypes}). */
export const isTransientEvent = (type: CadreEventType): boolean => transientEventTypes.has(type);

/** An event as consumers see it: a payload stamped with its run, sequence number and time. */
export type CadreEvent = CadreEventPayload & {
  runId: string;
  /**
   * Monotonic within a run, starting at 1; replay from any seq. A transient event (`model.delta`)
   * carries the seq of the stored event it follows (0 before the first), so resuming from it loses
   * only other transient events.
   */
  seq: number;
  /** Milliseconds since the epoch. */
  ts: number;
};

/** The event of one type. */
export type CadreEventOf<T extends CadreEventType> = Extract<CadreEvent, { type: T }>;
