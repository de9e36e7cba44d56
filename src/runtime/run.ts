import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import {
  Budget,
  CadreError,
  InMemoryStepJournal,
  RunEventStream,
  createId,
  createLogger,
  loadConfig,
  type CadreConfig,
  type CadreConfigInput,
  type CadreEvent,
  type CadreEventOf,
  type CadreEventType,
  type ErrorInfo,
  type JournalStep,
  type Logger,
  type RunStatus,
  type StepJournal,
  type Usage,
} from '../core/index.js';
import { createFixedRouter, type ModelRouter } from '../models/router.js';
import { createRouterFromConfig } from '../models/router-from-config.js';
import { ReActAgent, type Agent, type AgentSpec } from '../../agents/index.js';

export interface RunOptions {
  goal: string;
  /** The agent that carries out the goal: an Agent, or a spec for a ReActAgent. */
  agent: Agent | AgentSpec;
  /** One chat model for every call; skips detection. */
  model?: BaseChatModel;
  /** Decides the model for each call; default: detected from config and environment. */
  router?: ModelRouter;
  config?: CadreConfigInput;
  journal?: StepJournal;
  /** Reuse a run id, e.g. to replay a run from its journal. */
  runId?: string;
  signal?: AbortSignal;
  logger?: Logger;
}

/** How a run ended. `trace` holds every recorded step, also when the run stopped early. */
export interface RunResult {
  runId: string;
  status: RunStatus;
  answer: string | null;
  usage: Usage;
  costUsd: number;
  steps: number;
  durationMs: number;
  error?: ErrorInfo;
  trace: readonly JournalStep[];
}

/** A run under way. */
export interface RunHandle {
  readonly runId: string;
  /** Resolves when the run ends, whatever the status; never rejects. */
  readonly result: Promise<RunResult>;
  /** Every event of the run from `fromSeq` (default 1), then live ones until the run ends. */
  events(fromSeq?: number): AsyncGenerator<CadreEvent, void, undefined>;
  on<T extends CadreEventType>(type: T, listener: (event: CadreEventOf<T>) => void): () => void;
  /** Stops the run at its next step; the result's status becomes `cancelled`. */
  cancel(reason?: string): void;
}

const mainTask = 'main';

/**
 * Starts a run: the agent works on the goal while events stream. Throws at once (`config_invalid`,
 * `input_invalid`) for bad options; everything after that is reported through the result.
 */
export function run(options: RunOptions): RunHandle {
  if (typeof options.goal !== 'string' || options.goal.trim() === '') {
    throw new CadreError('input_invalid', 'run() needs a non-empty `goal`');
  }
  const config = loadConfig(options.config);
  const agent = isAgent(options.agent)
    ? options.agent
    : new ReActAgent(options.agent, { toolTimeoutMs: config.toolTimeoutMs, toolOutputMaxChars: config.toolOutputMaxChars });
  const runId = options.runId ?? createId('run');
  const events = new RunEventStream(runId);
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([controller.signal, options.signal]) : controller.signal;
  const result = execute({ ...options, config, agent, runId, events, signal, controller });
  return {
    runId,
    result,
    events: (fromSeq) => events.events(fromSeq),
    on: (type, listener) => events.on(type, listener),
    cancel: (reason = 'cancelled by caller') => controller.abort(new CadreError('cancelled', `Cancelled: ${reason}`, { details: { reason } })),
  };
}

interface Execution extends Omit<RunOptions, 'config' | 'agent'> {
  config: CadreConfig;
  agent: Agent;
  runId: string;
  events: RunEventStream;
  signal: AbortSignal;
  controller: AbortController;
}

async function execute(x: Execution): Promise<RunResult> {
  const started = performance.now();
  const logger = x.logger ?? createLogger({ level: x.config.logLevel });
  const journal = x.journal ?? new InMemoryStepJournal();
  const budget = new Budget({
    maxSteps: x.config.maxSteps,
    maxTokens: x.config.maxTokens,
    maxCostUsd: x.config.maxCostUsd,
    maxWallTimeMs: x.config.maxWallTimeMs,
  });
  // A model call can outlast the wall-time limit, so the limit also aborts whatever is in flight.
  const wallTimer = x.config.maxWallTimeMs === undefined ? undefined : setTimeout(() => {
    x.controller.abort(new CadreError('budget_exceeded', `Budget exceeded: wallTimeMs (limit ${x.config.maxWallTimeMs})`, {
      details: { limit: 'wallTimeMs', used: x.config.maxWallTimeMs, max: x.config.maxWallTimeMs },
    }));
  }, x.config.maxWallTimeMs);
  x.events.emit({ type: 'run.started', goal: x.goal });
  let answer: string | null = null;
  let error: CadreError | undefined;
  try {
    const router = x.router ?? (x.model ? createFixedRouter(x.model) : await createRouterFromConfig(x.config, { timeoutMs: x.config.detectTimeoutMs }));
    x.events.emit({ type: 'task.started', taskId: mainTask, agent: x.agent.name, ...(x.agent.role ? { role: x.agent.role } : {}) });
    const result = await x.agent.run({ id: mainTask, instruction: x.goal }, { runId: x.runId, router, events: x.events, budget, journal, signal: x.signal, logger });
    answer = result.answer;
    x.events.emit({ type: 'task.completed', taskId: mainTask, answer, steps: result.steps, usage: result.usage, costUsd: result.costUsd });
  } catch (thrown) {
    error = CadreError.from(thrown, 'run_failed');
    logger.debug({ err: error.toJSON(), runId: x.runId }, 'run ended with an error');
  } finally {
    if (wallTimer) clearTimeout(wallTimer);
  }
  const status = statusOf(error);
  const info = error ? { code: error.code, kind: error.kind, message: error.message } : undefined;
  if (status === 'budget_exceeded' && error) {
    const { limit = 'steps', used = 0, max = 0 } = error.details as { limit?: 'steps'; used?: number; max?: number };
    x.events.emit({ type: 'budget.exceeded', limit, used, max });
  } else if (status === 'cancelled' && error) {
    x.events.emit({ type: 'run.cancelled', reason: String(error.details.reason ?? error.message) });
  } else if (info) {
    x.events.emit({ type: 'task.failed', taskId: mainTask, error: info });
  }
  const spend = budget.spend();
  const durationMs = performance.now() - started;
  x.events.emit({ type: 'run.completed', status, answer, usage: spend.usage, costUsd: spend.costUsd, steps: spend.steps, durationMs, ...(info ? { error: info } : {}) });
  x.events.close();
  const trace = await journal.replay(x.runId, mainTask);
  return { runId: x.runId, status, answer, usage: spend.usage, costUsd: spend.costUsd, steps: spend.steps, durationMs, ...(info ? { error: info } : {}), trace };
}

function statusOf(error: CadreError | undefined): RunStatus {
  if (!error) return 'completed';
  if (error.code === 'cancelled') return 'cancelled';
  if (error.code === 'budget_exceeded') return 'budget_exceeded';
  return 'failed';
}

function isAgent(value: Agent | AgentSpec): value is Agent {
  return typeof (value as Agent).run === 'function';
}
