import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { CadreError, RunEventStream, createId, loadConfig, type CadreConfig, type CadreEvent } from '../core/index.js';
import { checkTeam } from '../../agents/team-checks.js';
import type { ResumeOptions, RunAppEntry, RunHandle, RunOptions, RunOwner } from './run-types.js';
import { openConfiguredStore, type CadreStore } from './store/index.js';
import { pendingApproval, type Execution } from './execution.js';
import { toolApprovalAnswer } from './tool-approval-answer.js';
import { elicitationAnswer } from './elicitation-answer.js';
import type { ApprovalRequest, PlanDecision } from './workflow.js';
import { checkToolConfig } from './check-tool-config.js';
import { checkRunOptions } from './check-run-options.js';
import type * as ExecuteRun from './execute-run.js';

// This module checks options and stores the run record at once; the framework that carries a run
// out (agents, models, LangGraph) loads with the first run, so `import 'cadre'` stays light. The
// promise is kept: a dynamic import of a loaded module still costs a trip through the module loader.
let loading: Promise<typeof ExecuteRun> | undefined;
const executing = () => (loading ??= import('./execute-run.js'));

/**
 * Starts a run: plans the goal (or gives it to one agent), carries out the plan, and streams
 * events. Throws at once (`config_invalid`, `input_invalid`, `store_failed`) for bad options;
 * everything after that is reported through the result.
 */
export function run(options: RunOptions): RunHandle {
  checkRunOptions(options, 'run');
  if (typeof options.goal !== 'string' || options.goal.trim() === '') {
    throw new CadreError('input_invalid', 'run() needs a non-empty `goal`');
  }
  checkTeam(options);
  const runId = options.runId ?? createId('run');
  const config = loadConfig(options.config);
  checkToolConfig(config);
  const store = openConfiguredStore(config);
  // A generated id is new by construction; only a caller's own id can name an existing run.
  if (options.runId && store.runs.get(runId))
    throw new CadreError('input_invalid', `Run ${runId} already exists; use resume(runId) to continue it`);
  const engine = engineFor(options);
  store.runs.create({
    id: runId,
    goal: options.goal,
    settings: {
      metadata: options.metadata ?? {},
      mode: options.agent ? 'agent' : 'team',
      approval: Boolean(options.approvePlan),
      ...(options.approveTool === 'interrupt' ? { toolApproval: 'interrupt' } : {}),
      ...(options.privacy ? { privacy: options.privacy } : {}),
      engine,
      ...(options.app ? { app: options.app } : {}),
      ...(options.owner ? { owner: options.owner } : {}),
      ...(options.job ? { job: options.job } : {}),
    },
  });
  return start(runId, ownersMemory(options, options.owner), store, config, false, undefined, engine);
}

/**
 * Continues a run after a crash, a cancel or an approval (of its plan or of a tool call): finished
 * tasks are read back from the checkpoint, interrupted ones replay their journal, and events continue
 * from the last seq. Pass the same team (roles, agent, planner) the run started with. Throws at once
 * for a decision that cannot answer what the run waits for (`edit` for a tool call or a question,
 * content a question's server would refuse).
 */
export function resume(runId: string, options: ResumeOptions = {}): RunHandle {
  checkRunOptions(options, 'resume');
  const config = loadConfig(options.config);
  const store = openConfiguredStore(config);
  // The run's last steps may still be in the redo log of the process that died running it.
  store.recover();
  const record = store.runs.get(runId);
  if (!record) throw new CadreError('run_not_found', `No run ${runId} in ${store.path}`);
  if (record.status === 'completed' || record.status === 'rejected') {
    throw new CadreError(
      'input_invalid',
      `Run ${runId} has already ended (${record.status}); there is nothing to resume`,
    );
  }
  // Without its team, a run started by name would resume with the built-in roles: the wrong team.
  const named = record.settings?.app as RunAppEntry | undefined;
  if (named && (options.app ? !sameEntry(options.app, named) : !options.agent && !options.roles && !options.planner))
    throw new CadreError(
      'input_invalid',
      `Run ${runId} was started by name (${JSON.stringify(named)}); resume it with resumeNamed(runId), or pass its team`,
    );
  // The gate is part of the workflow's shape: a run planned with it is resumed with it.
  const approvePlan = options.approvePlan ?? Boolean(record.settings?.approval);
  // A run that stops for tool approvals keeps doing so, unless the caller now decides in-process.
  const approveTool = options.approveTool ?? (record.settings?.toolApproval === 'interrupt' ? 'interrupt' : undefined);
  const waiting = record.status === 'awaiting_approval' ? (pendingApproval(record) ?? true) : undefined;
  if (typeof waiting === 'object' && options.decision) checkDecision(options.decision, waiting.request);
  // A run labelled sensitive stays so: its resumed calls must not reach a cloud model either.
  const privacy = options.privacy ?? (record.settings?.privacy === 'sensitive' ? 'sensitive' : undefined);
  // Runs recorded before engines were kept ran on the workflow; a run that now stops for approvals
  // needs LangGraph's interrupts, whatever it started on.
  const direct = record.settings?.engine === 'direct' && !approvePlan && approveTool !== 'interrupt';
  const engine = direct ? 'direct' : 'workflow';
  return start(
    runId,
    {
      ...ownersMemory(options, record.settings?.owner as RunOwner | undefined),
      goal: record.goal,
      approvePlan,
      ...(approveTool ? { approveTool } : {}),
      ...(privacy ? { privacy } : {}),
    },
    store,
    config,
    true,
    waiting,
    engine,
  );
}

/** Throws at once for a decision that cannot answer what the run waits for, before anything runs. */
function checkDecision(decision: PlanDecision, request: ApprovalRequest): void {
  if (request.kind === 'tool_approval') toolApprovalAnswer(decision, request);
  else if (request.kind === 'elicitation') elicitationAnswer(decision, request);
}

const sameEntry = (a: RunAppEntry, b: RunAppEntry) => a.team === b.team && a.agent === b.agent;

/**
 * A run started for someone (an API key, and the end user a frontend names) reads and writes memory
 * as that someone only: the team's memory narrowed to a user level derived from the owner, so one
 * key's or user's notes, lessons and facts never reach another's runs. Runs without an owner (in
 * code, the CLI) keep the memory's own scope.
 */
function ownersMemory<T extends Pick<RunOptions, 'memory'>>(options: T, owner: RunOwner | undefined): T {
  if (!options.memory || !owner) return options;
  const digest = createHash('sha256')
    .update(JSON.stringify([owner.key, owner.user ?? null]))
    .digest('base64url')
    .slice(0, 32);
  return { ...options, memory: options.memory.within({ user: `owner_${digest}` }) };
}

/**
 * A run with nothing that needs LangGraph — no plan gate and no durable tool approvals (both are
 * LangGraph interrupts), no memory (its steps are checkpointed with the tasks) — runs without a
 * workflow; see direct-run.ts. Kept with the run for its resumes.
 */
function engineFor(options: RunOptions): Execution['engine'] {
  const direct = !options.approvePlan && options.approveTool !== 'interrupt' && !options.memory && !options.episodes;
  return direct ? 'direct' : 'workflow';
}

function start(
  runId: string,
  options: RunOptions & ResumeOptions,
  store: CadreStore,
  config: CadreConfig,
  resuming: boolean,
  waiting: Execution['waiting'] | undefined,
  engine: Execution['engine'],
): RunHandle {
  const startSeq = resuming ? store.events.nextSeq(runId) : 1;
  const events = new RunEventStream(runId, { log: store.events, startSeq });
  // One commit makes both durable: a new run's record (batched by runs.create) and its seq reservation.
  events.reserveSeqs();
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([controller.signal, options.signal]) : controller.signal;
  // Every running task, model call and tool call listens for the abort: many listeners are expected.
  setMaxListeners(0, controller.signal, signal);
  const result = executing().then(({ executeRun }) =>
    executeRun({
      options,
      config,
      runId,
      store,
      events,
      signal,
      controller,
      resuming,
      engine,
      ...(waiting !== undefined ? { waiting } : {}),
    }),
  );
  return {
    runId,
    result,
    events: (fromSeq, options) => events.events(fromSeq, options),
    on: (type: string, listener: (event: CadreEvent) => void) => events.on(type as '*', listener),
    cancel: (reason = 'cancelled by caller') =>
      controller.abort(new CadreError('cancelled', `Cancelled: ${reason}`, { details: { reason } })),
  };
}
