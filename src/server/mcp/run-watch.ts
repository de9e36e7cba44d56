import type { CadreEvent, RunOwnerFilter, RunRecord } from '../../core/index.js';

type Maybe<T> = T | Promise<T>;

/**
 * What the MCP resources read of cadre's store: the runs table and the event log, of the embedded
 * file (a `CadreStore`) or of any store (`configuredRunStore(config)`: PostgreSQL too).
 */
export interface RunStore {
  runs: {
    get(id: string): Maybe<RunRecord | undefined>;
    list(limit?: number): Maybe<RunRecord[]>;
    listOwned(filter: RunOwnerFilter): Maybe<RunRecord[]>;
  };
  events: {
    read(runId: string, fromSeq?: number): Maybe<CadreEvent[]>;
    lastSeq(runId: string): Maybe<number>;
  };
}

/** Where a {@link RunWatch} reports what it saw change. */
export interface RunWatchListener {
  /** A run was created since the last look: the resource list changed. */
  listChanged(): void;
  /** A watched resource's run changed (status, plan, result or a new event). */
  updated(uri: string): void;
}

/**
 * Watches the store for new runs and for changes to the runs a client subscribed to. Runs are
 * written by any process sharing the database (the CLI, `cadre serve`, workers), so the watch
 * polls: two indexed reads per look, plus one per subscribed run.
 */
export class RunWatch {
  private newest: string | undefined;
  private readonly watched = new Map<string, { runId: string; version: string }>();
  private timer: NodeJS.Timeout | undefined;
  /** The baseline read at start: looks wait for it. */
  private baseline: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: RunStore,
    private readonly listener: RunWatchListener,
    private readonly intervalMs: number,
  ) {}

  /** Starts looking every `intervalMs`; what exists now is the baseline. */
  start(): void {
    if (this.timer || this.intervalMs <= 0) return;
    this.baseline = this.newestRun().then(
      (newest) => void (this.newest = newest),
      () => undefined,
    );
    this.timer = setInterval(() => void this.look(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }

  /** Reports changes to `runId` as updates of `uri` from now on. */
  async watch(uri: string, runId: string): Promise<void> {
    this.watched.set(uri, { runId, version: await this.versionOf(runId) });
  }

  unwatch(uri: string): void {
    this.watched.delete(uri);
  }

  /** Looks once now, e.g. right after this process started a run; only while started. */
  async look(): Promise<void> {
    if (!this.timer) return;
    try {
      await this.baseline;
      const newest = await this.newestRun();
      if (newest !== this.newest) {
        this.newest = newest;
        this.listener.listChanged();
      }
      for (const [uri, entry] of this.watched) {
        const version = await this.versionOf(entry.runId);
        if (version === entry.version) continue;
        entry.version = version;
        this.listener.updated(uri);
      }
    } catch {
      // A busy or closing store: the next look tries again, and closing the session stops the watch.
    }
  }

  private async newestRun(): Promise<string | undefined> {
    return (await this.store.runs.list(1))[0]?.id;
  }

  /** Changes whenever the run's record is written or an event is stored. */
  private async versionOf(runId: string): Promise<string> {
    const record = await this.store.runs.get(runId);
    return `${record?.status}:${record?.updatedAt}:${await this.store.events.lastSeq(runId)}`;
  }
}
