import { setTimeout as sleep } from 'node:timers/promises';
import { CadreError, type CadreConfigInput, type CadreEvent } from '../../core/index.js';
import type { PlanDecision, RunAppEntry, RunHandle, RunOwner, RunRecord, RunState } from '../../runtime/index.js';
import type { RunsAndEvents } from '../../runtime/store/index.js';
import { hasEntry, resumeNamed, runNamed, type CadreApp, type RunNamedOptions } from '../../app/index.js';
import type { Caller } from './api-key-auth.js';

/**
 * What a caller asks for to start a run: `runNamed`'s own fields. `runId` defaults to a new id (a
 * thread names its message's run before starting it).
 */
export type StartRunInput = Pick<
  RunNamedOptions,
  'team' | 'agent' | 'goal' | 'budget' | 'privacy' | 'metadata' | 'runId'
>;

/**
 * The runs this server answers for: starts and resumes them by name (the registry rebuilds their
 * team), keeps the handles of those running here, and decides who may see which run. The same
 * runNamed / resumeNamed serve the CLI and, later, workers; nothing here carries out a run.
 */
export class RunService {
  private readonly live = new Map<string, RunHandle>();
  /** Runs being resumed right now, so two approvals of one run cannot both resume it. */
  private readonly resuming = new Set<string>();
  private closing = false;

  constructor(
    private readonly options: {
      app: CadreApp;
      config: CadreConfigInput;
      /** Where the runs are: the embedded file or PostgreSQL. */
      store: RunsAndEvents;
      /** How often a followed run's record is looked at, to end its stream once it stopped. */
      pollMs: number;
    },
  ) {}

  /** Starts a run owned by `caller`; the run is committed before this resolves. */
  async start(input: StartRunInput, caller: Caller): Promise<RunHandle> {
    this.refuseWhenClosing();
    const owner: RunOwner = { key: caller.keyId, ...(caller.user !== undefined ? { user: caller.user } : {}) };
    const handle = await runNamed({ ...input, app: this.options.app, config: this.options.config, owner });
    return this.track(handle);
  }

  /** The run's record when `caller` may see it; `run_not_found` otherwise, so ids cannot be probed. */
  async get(runId: string, caller: Caller): Promise<RunRecord> {
    const record = await this.options.store.runs.get(runId);
    if (!record || !visible(record, caller)) throw new CadreError('run_not_found', `No run ${runId}`);
    return record;
  }

  /** The caller's runs, newest first. */
  list(caller: Caller, page: { limit: number; before?: number }): Promise<RunRecord[]> {
    return this.options.store.runs.listOwned({
      ...(caller.admin ? {} : { key: caller.keyId }),
      ...(caller.user !== undefined ? { user: caller.user } : {}),
      ...page,
    });
  }

  /** Stops a run running here at its next step (resumable, status `cancelled`). */
  async cancel(runId: string, caller: Caller, reason: string): Promise<RunRecord> {
    const record = await this.get(runId, caller);
    const handle = this.live.get(runId);
    if (!handle) throw new CadreError('run_conflict', conflict(record.status, 'cancelled'));
    handle.cancel(reason);
    return record;
  }

  /**
   * Answers what a run at `awaiting_approval` waits for and resumes it, as `resume(runId, { decision })`;
   * `fromSeq` is the seq of the resumed run's first event.
   */
  async decide(runId: string, caller: Caller, decision: PlanDecision): Promise<{ handle: RunHandle; fromSeq: number }> {
    this.refuseWhenClosing();
    const record = await this.get(runId, caller);
    if (record.status !== 'awaiting_approval' || this.live.has(runId) || this.resuming.has(runId))
      throw new CadreError('run_conflict', conflict(record.status, 'answered'));
    this.resuming.add(runId);
    try {
      const fromSeq = await this.options.store.events.nextSeq(runId);
      const handle = await resumeNamed(runId, { app: this.options.app, config: this.options.config, decision });
      return { handle: this.track(handle), fromSeq };
    } finally {
      this.resuming.delete(runId);
    }
  }

  /**
   * Resumes every run a dead process of this host left `running` that was started by a name the
   * registry has, so that no run stays `running` forever after a crash. Each run is claimed by one
   * process only; one that cannot be resumed is marked `interrupted` and reported.
   */
  async redrive(): Promise<RedriveReport> {
    const { app, config, store } = this.options;
    const report: RedriveReport = { resumed: [], failed: [] };
    const claimed = await store.runs.claimInterrupted((record) => {
      const entry = record.settings?.app as RunAppEntry | undefined;
      // A job's run is continued by a worker once its lease runs out, not here.
      return entry !== undefined && record.settings?.job === undefined && hasEntry(app, entry);
    });
    for (const record of claimed) {
      try {
        this.track(await resumeNamed(record.id, { app, config }));
        report.resumed.push(record.id);
      } catch (error) {
        await store.runs.update(record.id, { status: 'interrupted' });
        report.failed.push({ runId: record.id, error: CadreError.from(error) });
      }
    }
    return report;
  }

  /** The handle of a run running in this process, if any. */
  handle(runId: string): RunHandle | undefined {
    return this.live.get(runId);
  }

  /**
   * The run's events from `fromSeq`: from its handle when it runs here (replay, then live), else
   * from the store, followed as whichever process carries the run out stores them (PostgreSQL wakes
   * followers by LISTEN/NOTIFY, the embedded file is read again every 100 ms) until its record says
   * it stopped: looked at after each `run.completed` (the record is written just after it; a resumed
   * run goes on) and every `pollMs` (a process that died leaves no `run.completed`).
   */
  async *events(runId: string, fromSeq: number, signal: AbortSignal): AsyncGenerator<CadreEvent, void, undefined> {
    const handle = this.live.get(runId);
    if (handle) return yield* handle.events(fromSeq);
    const { store, pollMs } = this.options;
    // The status is read first: once it is final, every event was committed before it.
    const stopped = async () => (await store.runs.get(runId))?.status !== 'running';
    if (await stopped()) return yield* await store.events.read(runId, fromSeq);
    const recordEnded = async () => {
      for (let look = 0; look < 10; look++) {
        if (await stopped()) return true;
        await sleep(10);
      }
      return false;
    };
    const stop = new AbortController();
    let ended = false;
    void (async () => {
      while (!stop.signal.aborted && !ended) {
        await sleep(pollMs, undefined, { signal: stop.signal }).catch(() => undefined);
        if (!stop.signal.aborted && (await stopped().catch(() => false))) {
          ended = true;
          stop.abort();
        }
      }
    })();
    let next = fromSeq;
    try {
      for await (const event of store.events.follow(runId, fromSeq, AbortSignal.any([signal, stop.signal]))) {
        yield event;
        next = event.seq + 1;
        // An execution's end: its record is written just after it (looked at a few times, 10 ms
        // apart), unless a resumed execution goes on.
        if (event.type === 'run.completed' && (await recordEnded())) return;
      }
      if (ended && !signal.aborted) yield* await store.events.read(runId, next);
    } finally {
      stop.abort();
    }
  }

  /** Where the run stands now, once a handle's events ended: its final status. */
  async status(runId: string): Promise<RunState | undefined> {
    const handle = this.live.get(runId);
    if (handle) return (await handle.result).status;
    return (await this.options.store.runs.get(runId))?.status;
  }

  /** Refuses new runs, stops those running here at their next step, and waits up to `timeoutMs` for them. */
  async drain(reason: string, timeoutMs: number): Promise<void> {
    this.closing = true;
    const handles = [...this.live.values()];
    for (const handle of handles) handle.cancel(reason);
    const timeout = sleep(timeoutMs, undefined, { ref: false });
    await Promise.race([Promise.allSettled(handles.map((h) => h.result)), timeout]);
  }

  private track(handle: RunHandle): RunHandle {
    this.live.set(handle.runId, handle);
    void handle.result.finally(() => {
      if (this.live.get(handle.runId) === handle) this.live.delete(handle.runId);
    });
    return handle;
  }

  private refuseWhenClosing(): void {
    if (this.closing) throw new CadreError('unavailable', 'The server is shutting down; try again later');
  }
}

/** What {@link RunService.redrive} did with the runs it found left `running` by a dead process. */
export interface RedriveReport {
  resumed: string[];
  failed: Array<{ runId: string; error: CadreError }>;
}

/** Whether `caller` may see a run: its own key's (any key's for an admin), and its own user's when it names one. */
export function visible(record: RunRecord, caller: Caller): boolean {
  const owner = record.settings?.owner as RunOwner | undefined;
  if (!caller.admin && owner?.key !== caller.keyId) return false;
  return caller.user === undefined || owner?.user === caller.user;
}

function conflict(status: RunState, wanted: 'cancelled' | 'answered'): string {
  if (wanted === 'answered') return `The run is ${status}; only a run awaiting approval can be answered`;
  if (status === 'awaiting_approval') return 'The run waits for approval; answer it with POST /runs/{id}/approval';
  if (status === 'running') return 'The run is carried out by another process; cancel it there';
  return `The run is ${status}; there is nothing to cancel`;
}
