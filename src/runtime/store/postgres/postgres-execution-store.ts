import type { BaseCheckpointSaver } from '@langchain/langgraph';
import type { Pool } from 'pg';
import type * as CheckpointPostgres from '@langchain/langgraph-checkpoint-postgres';
import {
  CadreError,
  redact,
  type CadreEvent,
  type FencedRunWrites,
  type JournalStep,
  type RevisionRecord,
  type RunStore,
  type TaskOutcome,
} from '../../../core/index.js';
import type { CadreStore } from '../cadre-store.js';
import type { ExecutionStore } from '../execution-store.js';
import { leaseLost } from '../fenced-run-writes.js';
import type { PostgresPoolOptions } from './postgres-options.js';
import { openPostgresPool, serverName } from './postgres-pool.js';
import { openPostgresRunStore } from './postgres-run-store.js';
import { openPostgresAudit, type PostgresAudit } from './postgres-audit.js';
import { auditRow } from '../../../../tools/policy/index.js';
import { closePostgresStores, openedOnce } from './opened-stores.js';

/** A run this process holds under a job's lease: its writes are fenced with the lease's epoch. */
interface Held {
  epoch: number;
  onLost: (error: CadreError) => void;
}

/**
 * Runs on a PostgreSQL database as this process carries them out: one run store (pool, migrations,
 * LISTEN) and one LangGraph checkpointer per database and schema, shared by every run of the process.
 */
export interface PostgresRuns {
  readonly store: RunStore;
  /** The server and database, for messages (never the credentials). */
  readonly server: string;
  /**
   * Fences this process's writes of the run with `epoch` (taken with `store.fences.take`): every write
   * of an execution opened after this is refused once a newer lease took the fence, and `onLost` is
   * called once.
   */
  hold(runId: string, epoch: number, onLost: (error: CadreError) => void): void;
  /** Stops fencing the run's writes in this process. */
  release(runId: string): void;
  /**
   * One execution of a run on this database; the machine's own SQLite file (`local`) keeps what is
   * not a run's. A `fresh` run (created by this execution) has no steps or outcomes but those it
   * writes: they are read back from memory, not the database.
   */
  execution(runId: string, local: CadreStore, fresh?: boolean): ExecutionStore;
  /** The tool audit log on the same database. */
  readonly audit: PostgresAudit;
  /** Ends the run store's connections, the checkpointer's and the audit log's. */
  close(): Promise<void>;
}

/**
 * The PostgreSQL runs of `options` (opened, and migrated, on first use in the process). Needs the
 * `pg` and `@langchain/langgraph-checkpoint-postgres` packages, installed with cadre where they can be.
 */
export function openPostgresRuns(options: PostgresPoolOptions): Promise<PostgresRuns> {
  return openedOnce('runs', options, () => connect(options));
}

/** Closes every PostgreSQL store this process opened: runs, keys and threads (tests, and a server that stops). */
export const closePostgresRuns = closePostgresStores;

async function connect(options: PostgresPoolOptions): Promise<PostgresRuns> {
  const store = await openPostgresRunStore(options);
  const audit = await openPostgresAudit(options).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const server = serverName(new URL(options.url));
  const held = new Map<string, Held>();
  let saver: Promise<{ saver: BaseCheckpointSaver; pool: Pool }> | undefined;
  const checkpointer = async () => (await (saver ??= postgresSaver(options))).saver;
  return {
    store,
    server,
    audit,
    hold: (runId, epoch, onLost) => void held.set(runId, { epoch, onLost }),
    release: (runId) => void held.delete(runId),
    execution: (runId, local, fresh = false) =>
      execution(store, server, { runId, held: held.get(runId), fresh }, { checkpointer, audit }, local),
    close: async () => {
      const checkpoints = await saver?.catch(() => undefined);
      await Promise.all([store.close(), audit.close(), checkpoints?.pool.end()]);
    },
  };
}

/** LangGraph's PostgreSQL checkpointer on its own small pool, its tables set up once. */
async function postgresSaver(options: PostgresPoolOptions): Promise<{ saver: BaseCheckpointSaver; pool: Pool }> {
  let PostgresSaver: typeof CheckpointPostgres.PostgresSaver;
  try {
    ({ PostgresSaver } = await import('@langchain/langgraph-checkpoint-postgres'));
  } catch (error) {
    throw new CadreError(
      'config_invalid',
      'Runs on PostgreSQL that use the workflow engine need @langchain/langgraph-checkpoint-postgres: npm install @langchain/langgraph-checkpoint-postgres',
      { cause: error },
    );
  }
  const pool = await openPostgresPool({ ...options, max: 4 });
  const saver = new PostgresSaver(pool, undefined, { schema: options.schema ?? 'public' });
  try {
    await saver.setup();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return { saver, pool };
}

/**
 * A run's execution on PostgreSQL. Each journal, outcome and record write is awaited by the runtime,
 * so it is committed before the run goes on; events are written in the background, in order, those
 * emitted while a write is in flight together in the next one, and `flush` waits for them all. A run
 * held under a lease writes through the store's fenced writes: a refused one (`lease_lost`) stops it.
 */
function execution(
  store: RunStore,
  server: string,
  run: { runId: string; held: Held | undefined; fresh: boolean },
  shared: { checkpointer: () => Promise<BaseCheckpointSaver>; audit: PostgresAudit },
  local: CadreStore,
): ExecutionStore {
  const { checkpointer } = shared;
  const { runId, held } = run;
  const fenced: FencedRunWrites | undefined = held && store.fenced(runId, held.epoch);
  const own = run.fresh ? freshRunWrites() : undefined;
  const mine = (id: string) => (own && id === runId ? own : undefined);
  let lost = false;
  // A refusal stops the run (once); the write's caller gets the refusal all the same.
  const guarded = async <T>(write: T | Promise<T>): Promise<T> => {
    try {
      return await write;
    } catch (error) {
      if (held && !lost && CadreError.isInstance(error) && error.code === 'lease_lost') {
        lost = true;
        held.onLost(error);
      }
      throw error;
    }
  };
  const events = backgroundEvents(store, runId, fenced, guarded, shared.audit);
  // The run's state moves only once the events emitted before it are stored, as the embedded file
  // commits them together: a process killed between the two never leaves a step, an outcome or a
  // record whose events (a reported unknown outcome, a task.completed) are lost.
  const ordered = async <T>(write: () => T | Promise<T>): Promise<T> => {
    await events.flush();
    return guarded(write());
  };
  return {
    kind: 'postgres',
    path: `postgres ${server}`,
    runs: {
      get: (id) => store.runs.get(id),
      create: (run) => store.runs.create(run),
      update: (id, patch) =>
        ordered(() => (fenced && id === runId ? fenced.updateRun(patch) : store.runs.update(id, patch))),
    },
    events: {
      append: events.append,
      reserve: events.reserve,
      read: (id, fromSeq) => store.events.read(id, fromSeq),
      lastSeq: (id) => store.events.lastSeq(id),
      nextSeq: (id) => store.events.nextSeq(id),
    },
    steps: {
      append: async (step) => {
        await ordered(() => (fenced ? fenced.appendStep(step) : store.steps.append(step)));
        mine(step.runId)?.step(step);
      },
      replay: (id, key) => mine(id)?.steps(key) ?? store.steps.replay(id, key),
      ...(store.steps.replayRun ? { replayRun: (id: string) => store.steps.replayRun!(id) } : {}),
      ...(own ? { takeKept: (id: string) => mine(id)?.allSteps() } : {}),
    },
    toolCalls: {
      begin: (call) => ordered(() => (fenced ? fenced.beginCall(call) : store.toolCalls.begin(call))),
      complete: (key, outcome) =>
        ordered(() => (fenced ? fenced.completeCall(key, outcome) : store.toolCalls.complete(key, outcome))),
      get: (key) => store.toolCalls.get(key),
    },
    outcomes: {
      put: async (id, firstAttempt, outcome) => {
        await ordered(() =>
          fenced ? fenced.putOutcome(firstAttempt, outcome) : store.outcomes.put(id, firstAttempt, outcome),
        );
        mine(id)?.outcome(firstAttempt, outcome);
      },
      get: async (id, taskId, firstAttempt) =>
        mine(id)
          ? mine(id)!.outcomes.get(JSON.stringify([taskId, firstAttempt]))
          : store.outcomes.get(id, taskId, firstAttempt),
      putRevision: async (id, revision, state) => {
        await ordered(() =>
          fenced ? fenced.putRevision(revision, state) : store.outcomes.putRevision(id, revision, state),
        );
        mine(id)?.revision(revision, state);
      },
      lastRevision: async (id) => (mine(id) ? mine(id)!.lastRevision() : store.outcomes.lastRevision(id)),
    },
    checkpointer: async () => {
      const saver = await checkpointer();
      return held ? fencedCheckpoints(saver, store, runId, held.epoch, guarded) : saver;
    },
    db: local.db,
    flush: events.flush,
    audit: { record: (entry) => events.audit(auditRow(entry, Date.now())) },
  };
}

/**
 * What a fresh run wrote, as the database now holds it (a copy, steps redacted as they are stored):
 * nobody else writes a run this execution created, so its reads need no round trip.
 */
function freshRunWrites() {
  const steps = new Map<string, JournalStep[]>();
  const outcomes = new Map<string, TaskOutcome>();
  const revisions = new Map<number, RevisionRecord>();
  const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  return {
    outcomes,
    step(step: JournalStep) {
      const list = steps.get(step.taskId) ?? [];
      steps.set(step.taskId, list);
      // A step written again at its index replaces the one there, as in the database.
      list[step.index] = copy(redact(step));
    },
    steps: (key: string) => (steps.get(key) ?? []).filter(Boolean),
    allSteps: () => new Map([...steps.keys()].sort().map((key) => [key, steps.get(key)!.filter(Boolean)])),
    outcome: (firstAttempt: number, outcome: TaskOutcome) =>
      void outcomes.set(JSON.stringify([outcome.taskId, firstAttempt]), copy(outcome)),
    revision: (revision: number, state: RevisionRecord) => void revisions.set(revision, copy(state)),
    lastRevision() {
      const last = Math.max(...revisions.keys());
      return revisions.size ? { ...revisions.get(last)!, revision: last } : undefined;
    },
  };
}

/**
 * The run's events (and its tool calls' audit rows) written in order in the background: an append is
 * queued, and the queue goes in one write (with a pending seq reservation first) as soon as the
 * write before it has committed.
 */
function backgroundEvents(
  store: RunStore,
  runId: string,
  fenced: FencedRunWrites | undefined,
  guarded: <T>(write: T | Promise<T>) => Promise<T>,
  audit: PostgresAudit,
) {
  let queued: CadreEvent[] = [];
  let audits: (string | number | null)[][] = [];
  let reserveUpTo: number | undefined;
  /** The write that will take what is queued now, once it starts. */
  let next: Promise<void> | undefined;
  /** The last write started: the next one waits for it. */
  let last: Promise<unknown> = Promise.resolve();
  const write = async () => {
    next = undefined;
    const list = queued;
    const upTo = reserveUpTo;
    const rows = audits;
    queued = [];
    audits = [];
    reserveUpTo = undefined;
    if (upTo !== undefined) await guarded(fenced ? fenced.reserve(upTo) : store.events.reserve(runId, upTo));
    if (list.length) await guarded(fenced ? fenced.appendEvents(list) : store.events.append(list));
    // What a call was: kept whichever worker made it, so not fenced.
    if (rows.length) await audit.append(rows);
  };
  const schedule = () => {
    if (!next) {
      next = last.then(write);
      last = next.catch(() => undefined);
    }
    return next;
  };
  return {
    append: (event: CadreEvent) => {
      queued.push(event);
      return schedule();
    },
    audit: (row: (string | number | null)[]) => {
      audits.push(row);
      // A failure is logged with the run's other store failures (the events carry the same write).
      schedule().catch(() => undefined);
    },
    // Called before the events it covers are emitted; it goes first in their write.
    reserve: (_runId: string, upTo: number) => {
      reserveUpTo = Math.max(reserveUpTo ?? 0, upTo);
      // A failure is the event writes' to report: they carry the same reservation's promise.
      schedule().catch(() => undefined);
    },
    flush: async () => {
      await last;
    },
  };
}

/**
 * LangGraph's checkpoints of a run held under a lease: each write first checks that the run's fence
 * still holds the lease's epoch and is refused (`lease_lost`) when it does not. Unlike cadre's own
 * writes the check and the write are two statements, so a write already past its check when another
 * worker takes the fence still lands; the other worker's checkpoints are newer and win.
 */
function fencedCheckpoints(
  saver: BaseCheckpointSaver,
  store: RunStore,
  runId: string,
  epoch: number,
  guarded: <T>(write: T | Promise<T>) => Promise<T>,
): BaseCheckpointSaver {
  const check = async () => {
    const current = await store.fences.epoch(runId);
    if (current !== epoch) throw leaseLost(runId, epoch, current);
  };
  return Object.assign(Object.create(saver) as BaseCheckpointSaver, {
    put: (...args: Parameters<BaseCheckpointSaver['put']>) => guarded(check().then(() => saver.put(...args))),
    putWrites: (...args: Parameters<BaseCheckpointSaver['putWrites']>) =>
      guarded(check().then(() => saver.putWrites(...args))),
  });
}
