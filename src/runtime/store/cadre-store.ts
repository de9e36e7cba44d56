import { join, resolve } from 'node:path';
import type { CadreConfig } from '../../core/index.js';
import type { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { openDatabase, type OpenDatabaseOptions, type SqliteDatabase } from './database.js';
import { RunRegistry } from './run-registry.js';
import { SqliteEventLog } from './sqlite-event-log.js';
import { SqliteStepJournal } from './sqlite-step-journal.js';
import { SqliteToolCallJournal } from './sqlite-tool-call-journal.js';
import { TaskOutcomeLog } from './task-outcome-log.js';
import { RunFences } from './run-fences.js';
import { WriteBatch } from './write-batch.js';

/** Everything a durable run keeps, in one SQLite database: checkpoints, events, journals, runs. */
export interface CadreStore {
  readonly kind: 'sqlite';
  readonly path: string;
  readonly db: SqliteDatabase;
  /** LangGraph's checkpointer on the same database, loaded (with LangGraph) on first use. */
  checkpointer(): Promise<SqliteSaver>;
  readonly events: SqliteEventLog;
  readonly steps: SqliteStepJournal;
  readonly toolCalls: SqliteToolCallJournal;
  readonly runs: RunRegistry;
  readonly outcomes: TaskOutcomeLog;
  /** Fencing tokens of runs held under a job's lease. */
  readonly fences: RunFences;
  /**
   * Applies the writes that processes which died left in their redo logs (done on open, before a
   * lease is taken and before a resume); returns how many durability points were applied.
   */
  recover(): number;
  /**
   * Runs the event, journal and tool audit inserts this connection holds until its next commit (see
   * `WriteBatch.queue`), so a query of your own on `db` sees them; the store's own reads do this.
   */
  applyQueued(): void;
  /** Commits pending writes and closes the database; the next open of the same file opens it afresh. */
  close(): void;
}

const open = new Map<string, CadreStore>();

/** File stores' batches, committed if the process exits with one open (`process.exit()` skips the event loop). */
const commitAtExit = new Set<WriteBatch>();
process.on('exit', () => {
  for (const batch of commitAtExit) batch.close();
});

/**
 * Opens the store at `path` (default `.cadre/cadre.db`), sharing one connection per file within
 * the process; `:memory:` gives a fresh private store each time.
 */
export function openCadreStore(options: OpenDatabaseOptions): CadreStore {
  const path = options.path === ':memory:' ? ':memory:' : resolve(options.path);
  const existing = path === ':memory:' ? undefined : open.get(path);
  if (existing) return existing;
  const db = openDatabase({ ...options, path });
  // One batch per connection: a step's events and journal rows commit together.
  const batch = WriteBatch.of(db);
  let saver: SqliteSaver | undefined;
  if (path === ':memory:') batch.keepDurable('none');
  else {
    // Power-loss durability needs SQLite's own fsync at every durability point: no redo log then.
    if (options.durability !== 'full') batch.keepDurable({ redoDir: `${path}-redo` });
    try {
      batch.recover();
    } catch (error) {
      db.close();
      throw error;
    }
    commitAtExit.add(batch);
  }
  const store: CadreStore = {
    kind: 'sqlite',
    path,
    db,
    checkpointer: async () => (saver ??= new (await import('@langchain/langgraph-checkpoint-sqlite')).SqliteSaver(db)),
    events: new SqliteEventLog(db),
    steps: new SqliteStepJournal(db),
    toolCalls: new SqliteToolCallJournal(db),
    runs: new RunRegistry(db),
    outcomes: new TaskOutcomeLog(db),
    fences: new RunFences(db),
    recover: () => batch.recover(),
    applyQueued: () => batch.flush(),
    close: () => {
      open.delete(path);
      commitAtExit.delete(batch);
      batch.close();
      if (db.open) db.close();
    },
  };
  if (path !== ':memory:') open.set(path, store);
  return store;
}

/** The store a config names: `databasePath`, else `<dataDir>/cadre.db`, with its durability. */
export function openConfiguredStore(config: Pick<CadreConfig, 'databasePath' | 'dataDir' | 'durability'>): CadreStore {
  return openCadreStore({
    path: config.databasePath ?? join(config.dataDir, 'cadre.db'),
    durability: config.durability,
  });
}
