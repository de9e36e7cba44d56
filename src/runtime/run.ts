import { join } from 'node:path';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { CadreError, RunEventStream, createId, loadConfig, type CadreConfigInput, type CadreEvent, type CadreEventOf, type CadreEventType, type ErrorInfo, type JournalStep, type Logger, type RunStatus, type StepJournal, type Usage } from '../core/index.js';
import type { ModelRouter } from '../models/router.js';
import { RoleRegistry, defineAgentSpec, type Agent, type AgentSpec, type RoleDefinition } from '../../agents/index.js';
import type { Planner, Replanner, TaskGraph } from '../../planners/index.js';
import { openCadreStore, type CadreStore } from './store/index.js';
import type { TaskOutcome } from './task-outcome.js';
import type { ApprovalRequest, PlanDecision } from './workflow.js';
import { executeRun } from './execute-run.js';

/** Decides at the approval gate, in-process. */
export type PlanApprover = (request: ApprovalRequest) => PlanDecision | Promise<PlanDecision>;

export interface RunOptions {
  goal: string;
  /** One agent for the whole goal: a one-task plan, no planning call. */
  agent?: Agent | AgentSpec;
  /** The team a planner assigns tasks to; default: researcher, coder, critic and writer. */
  roles?: readonly RoleDefinition[];
  planner?: Planner;
  replanner?: Replanner;
  /** One chat model for every call; skips detection. */
  model?: BaseChatModel;
  /** Decides the model for each call; default: detected from config and environment. */
  router?: ModelRouter;
  config?: CadreConfigInput;
  /** Where agent steps are journaled; default the run's SQLite database. */
  journal?: StepJournal;
  runId?: string;
  signal?: AbortSignal;
  logger?: Logger;
  /** `true`: stop at the gate with status `awaiting_approval`; a function: decide in-process. */
  approvePlan?: boolean | PlanApprover;
  /** JSON kept with the run, e.g. what a CLI needs to rebuild the run on `resume`. */
  metadata?: Record<string, unknown>;
}

export interface ResumeOptions extends Omit<RunOptions, 'goal' | 'runId'> {
  /** The answer for a run waiting at the approval gate. */
  decision?: PlanDecision;
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
  steps: number;
  durationMs: number;
  error?: ErrorInfo;
  /** The approval request, when status is `awaiting_approval`. */
  approval?: ApprovalRequest;
  trace: readonly JournalStep[];
}

/** A run under way. */
export interface RunHandle {
  readonly runId: string;
  /** Resolves when the run ends or stops, whatever the status; never rejects. */
  readonly result: Promise<RunResult>;
  /** Every event of the run from `fromSeq` (default 1), then live ones until the run ends. */
  events(fromSeq?: number): AsyncGenerator<CadreEvent, void, undefined>;
  on<T extends CadreEventType>(type: T, listener: (event: CadreEventOf<T>) => void): () => void;
  /** Stops the run at the next step of each running task; state stays resumable, status `cancelled`. */
  cancel(reason?: string): void;
}

/**
 * Starts a run: plans the goal (or gives it to one agent), carries out the plan, and streams
 * events. Throws at once (`config_invalid`, `input_invalid`, `store_failed`) for bad options;
 * everything after that is reported through the result.
 */
export function run(options: RunOptions): RunHandle {
  if (typeof options.goal !== 'string' || options.goal.trim() === '') {
    throw new CadreError('input_invalid', 'run() needs a non-empty `goal`');
  }
  checkTeam(options);
  const runId = options.runId ?? createId('run');
  const store = openStore(options.config);
  if (store.runs.get(runId)) throw new CadreError('input_invalid', `Run ${runId} already exists; use resume(runId) to continue it`);
  store.runs.create({ id: runId, goal: options.goal, settings: { metadata: options.metadata ?? {}, mode: options.agent ? 'agent' : 'team' } });
  return start(runId, options, store, false);
}

/**
 * Continues a run after a crash, a cancel or the approval gate: finished tasks are read back from
 * the checkpoint, interrupted ones replay their journal, and events continue from the last seq.
 * Pass the same team (roles, agent, planner) the run started with.
 */
export function resume(runId: string, options: ResumeOptions = {}): RunHandle {
  const store = openStore(options.config);
  const record = store.runs.get(runId);
  if (!record) throw new CadreError('run_not_found', `No run ${runId} in ${store.path}`);
  if (record.status === 'completed' || record.status === 'rejected') {
    throw new CadreError('input_invalid', `Run ${runId} has already ended (${record.status}); there is nothing to resume`);
  }
  return start(runId, { ...options, goal: record.goal }, store, true, record.status === 'awaiting_approval');
}

function start(runId: string, options: RunOptions & ResumeOptions, store: CadreStore, resuming: boolean, awaitingApproval = false): RunHandle {
  const config = loadConfig(options.config);
  const events = new RunEventStream(runId, { log: store.events, startSeq: store.events.lastSeq(runId) + 1 });
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([controller.signal, options.signal]) : controller.signal;
  const result = executeRun({ options, config, runId, store, events, signal, controller, resuming, awaitingApproval });
  return {
    runId,
    result,
    events: (fromSeq) => events.events(fromSeq),
    on: (type, listener) => events.on(type, listener),
    cancel: (reason = 'cancelled by caller') => controller.abort(new CadreError('cancelled', `Cancelled: ${reason}`, { details: { reason } })),
  };
}

/** Bad agent specs and role names fail at once, before anything is stored. */
function checkTeam(options: RunOptions): void {
  if (options.agent && typeof (options.agent as Agent).run !== 'function') defineAgentSpec(options.agent as AgentSpec);
  if (options.roles) new RoleRegistry(options.roles);
  for (const role of options.roles ?? []) if (typeof (role.agent as Agent).run !== 'function') defineAgentSpec(role.agent as AgentSpec);
}

function openStore(input: CadreConfigInput | undefined): CadreStore {
  const config = loadConfig(input);
  return openCadreStore({ path: config.databasePath ?? join(config.dataDir, 'cadre.db'), durability: config.durability });
}
