import PQueue from 'p-queue';
import {
  Budget,
  CadreError,
  addUsage,
  createLogger,
  emptyUsage,
  redact,
  type CadreEvent,
  type JournalStep,
  type Logger,
  type RunPatch,
  type RunStatus,
} from '../core/index.js';
import { createFixedRouter } from '../models/router.js';
import type { AgentContext } from '../../agents/index.js';
import type { ModelSpend, RunOptions, RunResult } from './run-types.js';
import type { TaskOutcome } from './task-outcome.js';
import { openRunTools, type RunTools } from './run-tools.js';
import { assembleTeam } from './team.js';
import type { WorkflowOutput } from './run-summary.js';
import { runDirect } from './direct-run.js';
import type { Execution, PendingApproval } from './execution.js';
import type { ExecutionStore } from './store/index.js';

/** Runs of this process that are executing; the rest wait here, first come first served. */
const activeRuns = new PQueue({ concurrency: 256 });

/** Runs (or resumes) the workflow once a slot is free; never throws. */
export async function executeRun(x: Execution): Promise<RunResult> {
  activeRuns.concurrency = x.config.maxActiveRuns;
  return activeRuns.add(() => executeNow(x));
}

async function executeNow(x: Execution): Promise<RunResult> {
  const started = performance.now();
  const { options, config, runId, store, events } = x;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const journal = options.journal ?? store.steps;
  // A run that begins here keeps its steps in memory for its trace; a resumed one reads them back.
  if (!x.resuming && journal === store.steps) store.steps.keep?.(runId);
  const budget = new Budget({
    maxSteps: config.maxSteps,
    maxTokens: config.maxTokens,
    maxCostUsd: config.maxCostUsd,
    maxWallTimeMs: config.maxWallTimeMs,
  });
  // Read once: what earlier processes of a resumed run spent counts toward its limits and its report.
  const earlier = x.resuming ? await store.events.read(runId) : [];
  if (x.resuming) budget.restore(spentBefore(earlier));
  // A model call can outlast the wall-time limit, so the limit also aborts whatever is in flight.
  const wallTimer =
    config.maxWallTimeMs === undefined
      ? undefined
      : setTimeout(() => {
          x.controller.abort(
            new CadreError('budget_exceeded', `Budget exceeded: wallTimeMs (limit ${config.maxWallTimeMs})`, {
              details: { limit: 'wallTimeMs', used: config.maxWallTimeMs, max: config.maxWallTimeMs },
            }),
          );
        }, config.maxWallTimeMs);
  events.emit(x.resuming ? { type: 'run.resumed', goal: options.goal } : { type: 'run.started', goal: options.goal });
  // A new run's record was made `running` by this process a moment ago; a resumed one is claimed here.
  if (x.resuming) await store.runs.update(runId, { status: 'running' });
  let output: WorkflowOutput | undefined;
  const finished: TaskOutcome[] = [];
  let approval: PendingApproval | undefined;
  let error: CadreError | undefined;
  let runTools: RunTools | undefined;
  try {
    const router =
      options.router ??
      (options.model
        ? createFixedRouter(options.model)
        : await routerFromConfig(config, {
            timeoutMs: config.detectTimeoutMs,
            db: store.db,
            ttlMs: config.probeTtlMs,
            onLoadError: (e) => logger.debug({ err: e.toJSON() }, 'a load source did not answer'),
          }));
    runTools = await openRunTools(config, store, events, {
      approve: options.approveTool,
      sampling: () => context,
      elicit: options.elicit,
    });
    const context: AgentContext = {
      runId,
      router,
      events,
      budget,
      journal,
      toolJournal: store.toolCalls,
      signal: x.signal,
      logger,
      guards: runTools.guards,
      ...(options.privacy ? { privacy: options.privacy } : {}),
    };
    const team = assembleTeam(
      { ...options, tools: [...(options.tools ?? []), ...runTools.tools] },
      config,
      router,
      () => context,
    );
    if (x.engine === 'direct') {
      output = await runDirect({
        goal: options.goal,
        ...team,
        context,
        policy: config,
        outcomes: options.retryFailed ? completedOnly(store.outcomes) : store.outcomes,
        onPlan: (graph) => store.runs.update(runId, { plan: graph }),
        onOutcome: (outcome) => finished.push(outcome),
      });
    } else {
      // Loaded only here, so a run on the direct engine never loads LangGraph.
      const { runWorkflow } = await import('./workflow-engine.js');
      const end = await runWorkflow(x, team, context, (outcome) => finished.push(outcome));
      ({ output, approval } = end);
      // The run still waits for its approval, and reports why it was not answered here.
      if (end.approverError !== undefined) throw end.approverError;
    }
  } catch (thrown) {
    error =
      x.signal.aborted && CadreError.isInstance(x.signal.reason)
        ? x.signal.reason
        : CadreError.from(thrown, 'run_failed');
    logger.debug({ err: error.toJSON(), runId }, 'run stopped with an error');
  } finally {
    if (wallTimer) clearTimeout(wallTimer);
    await runTools
      ?.close()
      .catch((failure: unknown) =>
        logger.warn({ err: CadreError.from(failure).toJSON() }, 'MCP servers did not close cleanly'),
      );
  }
  if (error?.code === 'lease_lost') {
    // The run's job went to a newer lease, whose holder carries the run on: this one ends here and
    // writes nothing more (no end, no record), once what it wrote before is stored.
    events.close();
    if (journal === store.steps) store.steps.takeKept?.(runId);
    await store.flush?.().catch(() => undefined);
    throw error;
  }
  const status: RunStatus = approval ? 'awaiting_approval' : error ? statusOf(error) : output!.status;
  const info = error ? { code: error.code, kind: error.kind, message: error.message } : output?.error;
  if (status === 'budget_exceeded' && error) {
    const { limit = 'steps', used = 0, max = 0 } = error.details as { limit?: 'steps'; used?: number; max?: number };
    events.emit({ type: 'budget.exceeded', limit, used, max });
  } else if (status === 'cancelled' && error) {
    events.emit({ type: 'run.cancelled', reason: String(error.details.reason ?? error.message) });
  }
  const spend = budget.spend();
  const durationMs = performance.now() - started;
  const answer = output?.answer ?? null;
  const request = approval?.request;
  const plan =
    output?.graph ??
    (request?.kind === 'plan_approval' ? request.graph : undefined) ??
    ((await store.runs.get(runId))?.plan as RunResult['plan'] | undefined) ??
    null;
  const tasks = output?.tasks ?? finished;
  events.emit({
    type: 'run.completed',
    status,
    answer,
    usage: spend.usage,
    costUsd: spend.costUsd,
    steps: spend.steps,
    durationMs,
    ...(info ? { error: info } : {}),
  });
  events.close();
  // A store that writes events in the background has them all stored before the run's record ends it.
  await store.flush?.();
  if (events.persistError)
    logger.error({ err: events.persistError, runId }, 'some events of this run could not be stored');
  const waitingFor = approval
    ? { approval: approval.request, ...(approval.interruptId ? { interruptId: approval.interruptId } : {}) }
    : {};
  // Kept with the run: what each model cost it, for `/metrics` and reports read from the store.
  const models = spendByModel([...earlier, ...events.history()]);
  await recordEnd(store, runId, logger, {
    status,
    // Redacted as events are: an error thrown outside any task (a planner's, a router's) may quote one.
    result: redact({
      status,
      answer,
      usage: spend.usage,
      costUsd: spend.costUsd,
      steps: spend.steps,
      durationMs,
      models,
      tasks,
      ...(info ? { error: info } : {}),
      ...waitingFor,
    }),
  });

  const kept = journal === store.steps ? store.steps.takeKept?.(runId) : undefined;
  const trace = await traceOf(journal, runId, plan?.tasks.map((t) => t.id) ?? [], kept);
  return {
    runId,
    status,
    answer,
    plan,
    tasks,
    usage: spend.usage,
    costUsd: spend.costUsd,
    models,
    steps: spend.steps,
    durationMs,
    ...(info ? { error: info } : {}),
    ...(request ? { approval: request } : {}),
    trace,
  };
}

/**
 * Writes how the run ended to its record. A refusal (a worker that lost its lease, a database gone)
 * is logged, not thrown: the run's result is still returned, and whoever holds the run now ends it.
 */
async function recordEnd(store: ExecutionStore, runId: string, logger: Logger, patch: RunPatch): Promise<void> {
  try {
    await store.runs.update(runId, patch);
  } catch (error) {
    logger.error({ err: CadreError.from(error).toJSON(), runId }, 'the end of this run could not be stored');
  }
}

/** The outcome log as a retry sees it: a task that did not complete has no outcome, so it runs again. */
function completedOnly(log: ExecutionStore['outcomes']): ExecutionStore['outcomes'] {
  return Object.assign(Object.create(log) as ExecutionStore['outcomes'], {
    get: async (runId: string, taskId: string, firstAttempt: number) => {
      const outcome = await log.get(runId, taskId, firstAttempt);
      return outcome?.status === 'completed' ? outcome : undefined;
    },
  });
}

function statusOf(error: CadreError): RunStatus {
  if (error.code === 'cancelled') return 'cancelled';
  if (error.code === 'budget_exceeded') return 'budget_exceeded';
  return 'failed';
}

/** What each model cost the run so far (every process of it), from its `model.response` events. */
function spendByModel(events: readonly CadreEvent[]): ModelSpend[] {
  const byModel = new Map<string, ModelSpend>();
  for (const event of events) {
    // A replayed response was paid for when it was first made.
    if (event.type !== 'model.response' || event.replayed) continue;
    const spend = byModel.get(event.model) ?? { model: event.model, calls: 0, usage: emptyUsage(), costUsd: 0 };
    byModel.set(event.model, {
      model: event.model,
      calls: spend.calls + 1,
      usage: addUsage(spend.usage, event.usage),
      costUsd: spend.costUsd + event.costUsd,
    });
  }
  return [...byModel.values()];
}

/** What earlier processes of a resumed run spent, so its limits hold across restarts. */
function spentBefore(earlier: readonly CadreEvent[]) {
  const models = spendByModel(earlier);
  return {
    steps: models.reduce((n, m) => n + m.calls, 0),
    usage: models.reduce((u, m) => addUsage(u, m.usage), emptyUsage()),
    costUsd: models.reduce((c, m) => c + m.costUsd, 0),
  };
}

/** Every recorded step of the plan's tasks, attempt by attempt, a strategy's calls included. */
async function traceOf(
  journal: RunOptions['journal'] & object,
  runId: string,
  taskIds: string[],
  kept?: ReadonlyMap<string, readonly JournalStep[]>,
): Promise<JournalStep[]> {
  // What was kept in memory, else one read of the whole run where the journal offers it, else one per attempt.
  const all = kept ?? (await journal.replayRun?.(runId));
  const replay = all ? (key: string) => all.get(key) ?? [] : (key: string) => journal.replay(runId, key);
  // A strategy journals each call under a key below the attempt's (`a/cot`, `a/tot/r.1/propose`); task
  // ids hold no '/', so the attempt is what comes before the first one. Grouped in one pass.
  const byAttempt = new Map<string, JournalStep[]>();
  for (const [key, recorded] of all ?? []) {
    const slash = key.indexOf('/');
    if (slash < 0) continue;
    const attempt = key.slice(0, slash);
    byAttempt.set(attempt, [...(byAttempt.get(attempt) ?? []), ...recorded]);
  }
  const below = (key: string) => byAttempt.get(key) ?? [];
  const steps: JournalStep[] = [];
  for (const id of taskIds) {
    for (let attempt = 1; attempt <= 20; attempt++) {
      const key = attempt === 1 ? id : `${id}#${attempt}`;
      const recorded = [...(await replay(key)), ...below(key)];
      if (recorded.length === 0 && attempt > 1) break;
      steps.push(...recorded);
    }
  }
  return steps;
}

/**
 * The router the config describes, with detection cached in the run's database. Loaded on demand:
 * a run given its model or router needs neither detection nor the PII detector behind routing rules.
 */
async function routerFromConfig(
  config: Execution['config'],
  options: { timeoutMs: number; db: ExecutionStore['db']; ttlMs: number; onLoadError: (error: CadreError) => void },
) {
  const [{ createRouterFromConfig }, { createCapabilityCache }] = await Promise.all([
    import('../models/router-from-config.js'),
    import('../models/capability-cache.js'),
  ]);
  return createRouterFromConfig(config, {
    timeoutMs: options.timeoutMs,
    cache: createCapabilityCache({ db: options.db, ttlMs: options.ttlMs }),
    onLoadError: options.onLoadError,
  });
}
