import { CadreError, type CadreConfig, type RunRecord, type RunStore } from '../../core/index.js';
import { AuditLog, type AuditQuery, type AuditRecord } from '../../../tools/policy/index.js';
import { openConfiguredStore } from './cadre-store.js';
import { sqliteApiKeys, type ApiKeys } from './api-key-store.js';
import { openPostgresApiKeys } from './postgres/postgres-api-keys.js';
import { openPostgresRunReadings, type RunReadings } from './postgres/postgres-run-readings.js';
import { openPostgresThreadStore } from './postgres/postgres-thread-store.js';
import { sqliteThreadRecords, type ThreadRecords } from './thread-records.js';
import { ThreadStore } from './thread-store.js';
import { openedOnce } from './postgres/opened-stores.js';
import type { PostgresPoolOptions } from './postgres/postgres-options.js';
import { sqliteRunStore } from './sqlite-run-store.js';
import { openPostgresRuns, type PostgresRuns } from './postgres/postgres-execution-store.js';

/** The settings that say where a config keeps its runs. */
export type StoreConfig = Pick<CadreConfig, 'runStore' | 'databaseUrl' | 'databaseSchema'>;

/** Where a config keeps its runs: `runStore` when set, else PostgreSQL when `databaseUrl` is set, else the embedded file. */
export function runStoreKind(config: StoreConfig): 'sqlite' | 'postgres' {
  return config.runStore ?? (config.databaseUrl ? 'postgres' : 'sqlite');
}

/** The PostgreSQL database a config names (`databaseUrl`, `databaseSchema`); `config_invalid` without a URL. */
function postgresOf(config: StoreConfig): PostgresPoolOptions {
  if (!config.databaseUrl)
    throw new CadreError('config_invalid', 'runStore is `postgres` but no databaseUrl is set (CADRE_DATABASE_URL)', {
      details: { key: 'databaseUrl' },
    });
  return { url: config.databaseUrl, ...(config.databaseSchema !== undefined ? { schema: config.databaseSchema } : {}) };
}

/** The PostgreSQL runs a config names (`databaseUrl`, `databaseSchema`); `config_invalid` without a URL. */
export async function configuredPostgresRuns(config: StoreConfig): Promise<PostgresRuns> {
  return openPostgresRuns(postgresOf(config));
}

/**
 * An object whose methods `names` open `target` on their first call (once: `target` is expected to
 * keep what it opened) and then call its method of the same name.
 */
function onFirstUse<T extends object, K extends keyof T>(target: () => Promise<T>, names: readonly K[]): Pick<T, K> {
  return Object.fromEntries(
    names.map((name) => [
      name,
      async (...args: unknown[]) => {
        const opened = await target();
        return (opened[name] as (...a: unknown[]) => unknown).apply(opened, args);
      },
    ]),
  ) as Pick<T, K>;
}

/** What `GET /metrics` reads of runs kept in PostgreSQL; undefined when they are in the embedded file. */
export function configuredRunReadings(config: StoreConfig): RunReadings | undefined {
  if (runStoreKind(config) === 'sqlite') return undefined;
  const readings = async () => {
    const options = postgresOf(config);
    return openedOnce('readings', options, () => openPostgresRunReadings(options));
  };
  return onFirstUse(readings, ['byStatus', 'runTime', 'spend']);
}

/** The tool audit log where the config keeps its runs: the embedded file, or PostgreSQL. */
export function configuredAuditLog(
  config: StoreConfig & Pick<CadreConfig, 'databasePath' | 'dataDir' | 'durability'>,
): {
  /** Matching records, newest first. */
  list(query?: AuditQuery): Promise<AuditRecord[]>;
} {
  if (runStoreKind(config) === 'sqlite') {
    const log = new AuditLog(openConfiguredStore(config).db);
    return { list: async (query) => log.list(query) };
  }
  return { list: async (query) => (await configuredPostgresRuns(config)).audit.list(query) };
}

/**
 * Threads where the config keeps its runs: the embedded file, or PostgreSQL (connected on first
 * use), so that every server on one database continues every conversation.
 */
export function configuredThreadRecords(
  config: StoreConfig & Pick<CadreConfig, 'databasePath' | 'dataDir' | 'durability'>,
): ThreadRecords {
  if (runStoreKind(config) === 'sqlite') return sqliteThreadRecords(new ThreadStore(openConfiguredStore(config).db));
  const threads = async () => {
    const options = postgresOf(config);
    return openedOnce('threads', options, () => openPostgresThreadStore(options));
  };
  return {
    ...onFirstUse(threads, [
      'create',
      'get',
      'list',
      'append',
      'setStatus',
      'claim',
      'messages',
      'setSummary',
      'unsettled',
    ]),
    // Shared by the process: closed with the other PostgreSQL stores (closePostgresRuns).
    close: async () => undefined,
  };
}

/**
 * The HTTP API's keys where the config keeps its runs: the embedded file, or PostgreSQL (connected
 * on first use), so that every server on one database knows every key.
 */
export function configuredApiKeys(
  config: StoreConfig & Pick<CadreConfig, 'databasePath' | 'dataDir' | 'durability'>,
): ApiKeys {
  if (runStoreKind(config) === 'sqlite') return sqliteApiKeys(openConfiguredStore(config).db);
  const keys = async () => {
    const options = postgresOf(config);
    return openedOnce('keys', options, () => openPostgresApiKeys(options));
  };
  return onFirstUse(keys, ['create', 'verify', 'list', 'revoke', 'hasLiveKey']);
}

/** A run's record from the store the config names, or undefined when there is no such run. */
export async function readRunRecord(
  config: StoreConfig & Pick<CadreConfig, 'databasePath' | 'dataDir' | 'durability'>,
  runId: string,
): Promise<RunRecord | undefined> {
  if (runStoreKind(config) === 'postgres') return (await configuredPostgresRuns(config)).store.runs.get(runId);
  return openConfiguredStore(config).runs.get(runId);
}

/** What a job worker asks of the store its runs are kept in: a run's record, and its fence. */
export interface LeasedRuns {
  /** The run's record, or undefined when there is no such run. */
  get(runId: string): Promise<RunRecord | undefined>;
  /** Records the lease's `epoch` as the run's fence; false when a newer (or the same) epoch holds it. */
  take(runId: string, epoch: number): Promise<boolean>;
  /** Fences this process's writes of the run with `epoch`; `onLost` is called once when one is refused. */
  hold(runId: string, epoch: number, onLost: (error: CadreError) => void): void;
  /** Stops fencing the run's writes in this process. */
  release(runId: string): void;
}

/** The runs of jobs on the store the config names (see {@link runStoreKind}). */
export function leasedRuns(
  config: StoreConfig & Pick<CadreConfig, 'databasePath' | 'dataDir' | 'durability'>,
): LeasedRuns {
  if (runStoreKind(config) === 'sqlite') {
    const store = openConfiguredStore(config);
    return {
      get: async (runId) => store.runs.get(runId),
      take: async (runId, epoch) => store.fences.take(runId, epoch),
      hold: (runId, epoch, onLost) => store.fences.hold(runId, epoch, onLost),
      release: (runId) => store.fences.release(runId),
    };
  }
  // Opened by the first take, which comes before any hold.
  let server: PostgresRuns | undefined;
  const open = async () => (server ??= await configuredPostgresRuns(config));
  return {
    get: async (runId) => (await open()).store.runs.get(runId),
    take: async (runId, epoch) => (await open()).store.fences.take(runId, epoch),
    hold: (runId, epoch, onLost) => server!.hold(runId, epoch, onLost),
    release: (runId) => server?.release(runId),
  };
}

/** The runs and events of a store, as servers and the CLI read them. */
export type RunsAndEvents = Pick<RunStore, 'kind' | 'runs' | 'events'>;

/**
 * The runs and events of the store the config names, answered alike by both kinds: the embedded
 * file (shared with the process's runs) or PostgreSQL, connected on first use.
 */
export function configuredRunStore(
  config: StoreConfig & Pick<CadreConfig, 'databasePath' | 'dataDir' | 'durability'>,
): RunsAndEvents {
  if (runStoreKind(config) === 'sqlite') return sqliteRunStore(openConfiguredStore(config));
  const store = async () => (await configuredPostgresRuns(config)).store;
  return {
    kind: 'postgres',
    runs: onFirstUse(
      async () => (await store()).runs,
      ['create', 'update', 'get', 'list', 'listOwned', 'claimInterrupted'],
    ),
    events: {
      ...onFirstUse(async () => (await store()).events, ['append', 'read', 'lastSeq', 'reserve', 'nextSeq']),
      // An iterator, not a promise: opened as it is first read.
      follow: async function* (runId, fromSeq, signal) {
        yield* (await store()).events.follow(runId, fromSeq, signal);
      },
    },
  };
}
