import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import {
  CadreError,
  RunEventStream,
  createId,
  loadConfig,
  type CadreConfig,
  type CadreEvent,
  type NewRun,
} from '../core/index.js';
import { checkTeam } from '../../agents/team-checks.js';
import type { ResumeOptions, RunAppEntry, RunHandle, RunOptions, RunOwner } from './run-types.js';
import {
  configuredPostgresRuns,
  openConfiguredStore,
  runStoreKind,
  type ExecutionStore,
  type RunRecord,
} from './store/index.js';
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
 * everything after that is reported through the result. On PostgreSQL (`runStore`), the checks
 * that need the database (a caller's `runId` already taken, the server unreachable) reject `result`.
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
  const engine = engineFor(options);
  const record = newRecord(runId, options, engine);
  const execution = { options: ownersMemory(options, options.owner), resuming: false, engine, startSeq: 1 };
  // A generated id is new by construction; only a caller's own id can name an existing run.
  const taken = () => new CadreError('input_invalid', `Run ${runId} already exists; use resume(runId) to continue it`);
  if (runStoreKind(config) === 'postgres')
    return start(runId, config, options.signal, async () => {
      const store = await serverExecution(config, runId, true);
      if (options.runId && (await store.runs.get(runId))) throw taken();
      // Another process may create the same id between the two: refused the same way.
      await Promise.resolve(store.runs.create(record)).catch((error: unknown) => {
        throw CadreError.isInstance(error) && error.code === 'run_conflict' ? taken() : error;
      });
      return { store, ...execution };
    });
  const store = openConfiguredStore(config);
  if (options.runId && store.runs.get(runId)) throw taken();
  store.runs.create(record);
  const handle = start(runId, config, options.signal, { store, ...execution });
  // A `:memory:` store is this run's alone (each opening is private): nothing reaches it once the run
  // has ended, so it is closed then. Left to the garbage collector, which does not see the native
  // memory a database holds, a program of many such runs (an eval) grew by ~0.3 MB a run.
  if (store.path === ':memory:') void handle.result.then(store.close, store.close);
  return handle;
}

/**
 * Continues a run after a crash, a cancel or an approval (of its plan or of a tool call): finished
 * tasks are read back from the checkpoint, interrupted ones replay their journal, and events continue
 * from the last seq. Pass the same team (roles, agent, planner) the run started with. Throws at once
 * for a decision that cannot answer what the run waits for (`edit` for a tool call or a question,
 * content a question's server would refuse). On PostgreSQL (`runStore`), where the run's record is
 * read over the network, these refusals reject the handle's `result` instead.
 */
export function resume(runId: string, options: ResumeOptions = {}): RunHandle {
  checkRunOptions(options, 'resume');
  const config = loadConfig(options.config);
  if (runStoreKind(config) === 'postgres')
    return start(runId, config, options.signal, async () => {
      const store = await serverExecution(config, runId);
      const execution = resumption(runId, options, await store.runs.get(runId), store.path);
      return { store, ...execution, startSeq: await store.events.nextSeq(runId) };
    });
  const store = openConfiguredStore(config);
  // The run's last steps may still be in the redo log of the process that died running it.
  store.recover();
  const execution = resumption(runId, options, store.runs.get(runId), store.path);
  return start(runId, config, options.signal, { store, ...execution, startSeq: store.events.nextSeq(runId) });
}

/** What a run's record says a resume needs: the options it started with, what it waits for, its engine. */
function resumption(
  runId: string,
  options: ResumeOptions,
  record: RunRecord | undefined,
  where: string,
): Omit<Prepared, 'store' | 'startSeq'> {
  if (!record) throw new CadreError('run_not_found', `No run ${runId} in ${where}`);
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
  return {
    options: {
      ...ownersMemory(options, record.settings?.owner as RunOwner | undefined),
      goal: record.goal,
      approvePlan,
      ...(approveTool ? { approveTool } : {}),
      ...(privacy ? { privacy } : {}),
    },
    resuming: true,
    engine: direct ? 'direct' : 'workflow',
    ...(waiting !== undefined ? { waiting } : {}),
  };
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

/** A run record as `run()` creates it: the settings a resume needs to rebuild the run the same way. */
function newRecord(runId: string, options: RunOptions, engine: Execution['engine']): NewRun {
  return {
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
  };
}

/** An execution of the run on the configured PostgreSQL database; the data folder's file keeps the rest. */
async function serverExecution(config: CadreConfig, runId: string, fresh = false): Promise<ExecutionStore> {
  return (await configuredPostgresRuns(config)).execution(runId, openConfiguredStore(config), fresh);
}

/** What an execution starts from, once its store has answered. */
interface Prepared {
  store: ExecutionStore;
  options: RunOptions & ResumeOptions;
  resuming: boolean;
  engine: Execution['engine'];
  waiting?: Execution['waiting'];
  /** The seq of the execution's first event. */
  startSeq: number;
}

/**
 * Starts the execution and returns its handle. The embedded store has answered already; a server's
 * store answers later (`prepare`): the handle is returned at once all the same, its listeners are
 * attached when the run's event stream exists, and a refusal while preparing rejects `result`.
 */
function start(
  runId: string,
  config: CadreConfig,
  callerSignal: AbortSignal | undefined,
  prepared: Prepared | (() => Promise<Prepared>),
): RunHandle {
  const controller = new AbortController();
  const signal = callerSignal ? AbortSignal.any([controller.signal, callerSignal]) : controller.signal;
  // Every running task, model call and tool call listens for the abort: many listeners are expected.
  setMaxListeners(0, controller.signal, signal);
  const execute = (p: Prepared, events: RunEventStream) =>
    executing().then(({ executeRun }) =>
      executeRun({
        options: p.options,
        config,
        runId,
        store: p.store,
        events,
        signal,
        controller,
        resuming: p.resuming,
        engine: p.engine,
        ...(p.waiting !== undefined ? { waiting: p.waiting } : {}),
      }),
    );
  const cancel = (reason = 'cancelled by caller') =>
    controller.abort(new CadreError('cancelled', `Cancelled: ${reason}`, { details: { reason } }));
  if (typeof prepared !== 'function') {
    const events = eventStreamOf(runId, prepared);
    return {
      runId,
      result: execute(prepared, events),
      started: Promise.resolve(),
      events: (fromSeq, options) => events.events(fromSeq, options),
      on: (type: string, listener: (event: CadreEvent) => void) => events.on(type as '*', listener),
      cancel,
    };
  }
  let stream: RunEventStream | undefined;
  const early = new Set<{ type: string; listener: (event: CadreEvent) => void; off?: () => void }>();
  const ready = prepared().then((p) => {
    stream = eventStreamOf(runId, p);
    for (const entry of early) entry.off = stream.on(entry.type as '*', entry.listener);
    return { p, events: stream };
  });
  const result = ready.then(({ p, events }) => execute(p, events));
  const started = ready.then(() => undefined);
  // A refusal reaches whoever awaits `result` or `started` or reads `events()`; a caller doing none of
  // these is not crashed by it.
  result.catch(() => undefined);
  started.catch(() => undefined);
  return {
    runId,
    result,
    started,
    events: async function* (fromSeq, options) {
      yield* (await ready).events.events(fromSeq, options);
    },
    on: (type: string, listener: (event: CadreEvent) => void) => {
      if (stream) return stream.on(type as '*', listener);
      const entry: { type: string; listener: (event: CadreEvent) => void; off?: () => void } = { type, listener };
      early.add(entry);
      return () => {
        early.delete(entry);
        entry.off?.();
      };
    },
    cancel,
  };
}

/** The execution's event stream, its first block of seqs reserved before any event is emitted. */
function eventStreamOf(runId: string, p: Prepared): RunEventStream {
  const events = new RunEventStream(runId, { log: p.store.events, startSeq: p.startSeq });
  // On the embedded store, one commit makes both durable: a new run's record (batched by runs.create)
  // and its seq reservation.
  events.reserveSeqs();
  return events;
}
