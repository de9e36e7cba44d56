import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type {
  CadreConfigInput,
  CadreEvent,
  CadreEventOf,
  CadreEventType,
  ErrorInfo,
  JournalStep,
  Logger,
  RunEventsOptions,
  RunStatus,
  StepJournal,
  Usage,
} from '../core/index.js';
import type { ModelRouter } from '../models/router.js';
import type { Agent, AgentSpec, RoleDefinition } from '../../agents/index.js';
import type { EpisodeStore, Memory } from '../../memory/index.js';
import type { ApprovalHandler, McpElicitHandler, Tool } from '../../tools/index.js';
import type { Planner, Replanner, TaskGraph } from '../../planners/index.js';
import type { TaskOutcome } from './task-outcome.js';
import type { ApprovalRequest, PlanApprovalRequest, PlanDecision } from './workflow.js';

/** Decides at the approval gate, in-process. */
export type PlanApprover = (request: PlanApprovalRequest) => PlanDecision | Promise<PlanDecision>;

/** What {@link run} needs: the goal, and optionally the team, models, config, memory, tools and approvals. */
export interface RunOptions {
  goal: string;
  /** One agent for the whole goal: a one-task plan, no planning call. */
  agent?: Agent | AgentSpec;
  /** The team a planner assigns tasks to; default: researcher, coder, critic and writer. */
  roles?: readonly RoleDefinition[];
  /** Turns the goal into a task graph; default an LlmPlanner on a model routed for `plan` (none with `agent`). */
  planner?: Planner;
  /** Revises the plan under the `replan` failure policy; default an LlmReplanner (with `agent`, a RetryReplanner). */
  replanner?: Replanner;
  /** One chat model for every call; skips detection. */
  model?: BaseChatModel;
  /** Decides the model for each call; default: the policy router over `models` in the config, or what detection finds. */
  router?: ModelRouter;
  /** `sensitive` keeps every model call of the run on local models; personal data found in prompts raises it per call anyway. */
  privacy?: 'public' | 'sensitive';
  /** Settings that win over cadre.config.json and `CADRE_*` variables. */
  config?: CadreConfigInput;
  /** Where agent steps are journaled; default the run's SQLite database. */
  journal?: StepJournal;
  /** Default: a new id. */
  runId?: string;
  signal?: AbortSignal;
  logger?: Logger;
  /** `true`: stop at the gate with status `awaiting_approval`; a function: decide in-process. */
  approvePlan?: boolean | PlanApprover;
  /** Episodic memory for lessons: the `reflect` failure policy saves them here. Default: `memory`'s. */
  episodes?: EpisodeStore;
  /**
   * Shared memory (`createMemory()`): recalled before planning and before each task, task results
   * and outcomes written back, successful plans kept for reuse, and memory tools for every role.
   */
  memory?: Memory;
  /**
   * Decides tool calls the tool policy marks `ask` (by default: every `destructive` tool).
   * - a function: decides in-process, while the task waits;
   * - `'interrupt'`: the run stops at the first such call with status `awaiting_approval` and
   *   `result.approval` of kind `tool_approval` (tool, redacted arguments, effects, task, reason);
   *   `resume(runId, { decision: { action: 'approve' | 'reject', reason } })` answers it. The task
   *   then replays its journaled steps (no new model calls) up to that call, which runs once if
   *   approved or is refused as `approval_denied`. Kept for the run: `resume` asks the same way
   *   unless given another `approveTool`. Without an `elicit` handler, MCP servers' questions to
   *   the user stop the run the same way (see `elicit`).
   *
   * Without either, such calls are refused with a tool error the model sees, and the refusal is audited.
   */
  approveTool?: ApprovalHandler | 'interrupt';
  /**
   * Answers MCP servers' questions to the user (`elicitation/create`): the CLI asks at the terminal;
   * a program answers in code. The server waits on the live call, so a question is not kept across
   * a restart. Without it, a run with `approveTool: 'interrupt'` stops with status
   * `awaiting_approval` and `result.approval` of kind `elicitation` (server, tool, message, the
   * fields asked for); `resume(runId, { decision: { action: 'approve', content } })` answers it, in
   * any process, and the tool call is made again. Otherwise every question is declined, with the
   * reason, and the server carries on.
   */
  elicit?: McpElicitHandler;
  /** More tools for every spec-defined role, next to MCP tools from `mcpServers` in the config. */
  tools?: readonly Tool[];
  /** JSON kept with the run, e.g. what a CLI needs to rebuild the run on `resume`. */
  metadata?: Record<string, unknown>;
  /**
   * The registered team or agent the run was started by (`runNamed` sets it), kept in the run's
   * record so that any process can rebuild the run from the app registry (`resumeNamed`). On
   * `resume`: the entry the team options were rebuilt from.
   */
  app?: RunAppEntry;
  /** Who started the run over HTTP: the API key's id and the end user, kept in the run's record. */
  owner?: RunOwner;
  /** The job the run carries out (`cadre/jobs`): its workers continue it after a crash, no one else. */
  job?: string;
}

/** The app registry entry a run was started by, as its record keeps it (plain JSON). */
export interface RunAppEntry {
  team?: string;
  agent?: string;
  /** The config overrides the run was started with (e.g. a lower budget), applied again on resume. */
  config?: CadreConfigInput;
}

/** The API key (its id, never the key) and end user that started a run; they alone may see it. */
export interface RunOwner {
  key: string;
  user?: string;
}

/** What {@link resume} needs: the team the run started with, and the answer when it waits for approval. */
export interface ResumeOptions extends Omit<RunOptions, 'goal' | 'runId' | 'owner' | 'job'> {
  /**
   * The answer for a run waiting at `awaiting_approval`: for its plan, `approve`, `edit` or `reject`;
   * for a tool call, `approve` or `reject` (its `reason` reaches the model with the refusal); for an
   * MCP server's question, `approve` with `content` to accept, or `reject` to decline.
   */
  decision?: PlanDecision;
  /**
   * Run again the tasks that failed (and those skipped for them) instead of reading their failure back;
   * each replays its journal first, so no model call is paid and no effect repeated twice. For runs
   * without a LangGraph workflow (no plan gate, durable tool approvals or memory); a job's retry sets it.
   */
  retryFailed?: boolean;
}

/** What one model cost a run: calls, tokens and dollars (priced from the pool or the price table). */
export interface ModelSpend {
  /** The model's name as its provider knows it. */
  model: string;
  calls: number;
  usage: Usage;
  costUsd: number;
}

/** How a run ended. `tasks` and `trace` hold everything done, also when the run stopped early. */
export interface RunResult {
  runId: string;
  status: RunStatus;
  answer: string | null;
  plan: TaskGraph | null;
  tasks: TaskOutcome[];
  usage: Usage;
  costUsd: number;
  /** Spend per model, for every call the run made (planning, tasks, reflection, fact extraction). */
  models: ModelSpend[];
  steps: number;
  durationMs: number;
  error?: ErrorInfo;
  /**
   * What the run waits for, when status is `awaiting_approval`: the plan, one tool call, or an MCP
   * server's question. When several tasks wait at once, the first by plan order; resuming answers
   * it and stops at the next.
   */
  approval?: ApprovalRequest;
  trace: readonly JournalStep[];
}

/** A run under way. */
export interface RunHandle {
  readonly runId: string;
  /**
   * Resolves when the run ends or stops, whatever the status. Rejects only for a run on PostgreSQL
   * (`runStore`) refused before it started — the refusals `run()` and `resume()` throw at once on the
   * embedded store (`input_invalid`, `run_not_found`, `config_invalid`, `store_failed`).
   */
  readonly result: Promise<RunResult>;
  /**
   * Resolves once the run's record is stored (a new run) or claimed (a resume) and the run is under
   * way; at once on the embedded store, where `run()` and `resume()` do that before they return.
   * Rejects as `result` does when the run is refused.
   */
  readonly started: Promise<void>;
  /**
   * Every stored event of the run from `fromSeq` (default 1), then live ones until the run ends; with
   * `{ transient: true }` also the live `model.delta` events, each after the stored event it follows.
   */
  events(fromSeq?: number, options?: RunEventsOptions): AsyncGenerator<CadreEvent, void, undefined>;
  /**
   * Calls `listener` as each event of `type` is emitted, synchronously ('*' for every stored event;
   * `model.delta` reaches only its own listeners); returns an unsubscribe function.
   */
  on<T extends CadreEventType>(type: T, listener: (event: CadreEventOf<T>) => void): () => void;
  /** Calls `listener` for every stored event (not `model.delta`), as it is emitted; returns an unsubscribe function. */
  on(type: '*', listener: (event: CadreEvent) => void): () => void;
  /** Stops the run at the next step of each running task; state stays resumable, status `cancelled`. */
  cancel(reason?: string): void;
}
