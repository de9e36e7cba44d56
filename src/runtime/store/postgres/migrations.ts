import type { ClientBase, Pool, PoolClient } from 'pg';
import { CadreError } from '../../../core/index.js';
import { checkSchemaName, openPostgresPool } from './postgres-pool.js';
import type { PostgresPoolOptions } from './postgres-options.js';
import { migrations, type MigrateResult } from './schema-versions.js';

/** Held by every migrating transaction, so two processes migrating at once apply each version once. */
const lockKey = 0x63616472; // "cadr"

const isPool = (db: Pool | ClientBase): db is Pool => 'idleCount' in db;

/**
 * A pool on the database of `options` with cadre's tables migrated to the newest version (see
 * {@link migrate}); the pool is ended again when migrating fails.
 */
export async function openMigratedPool(options: PostgresPoolOptions): Promise<Pool> {
  const pool = await openPostgresPool(options);
  try {
    await migrate(pool, options.schema !== undefined ? { schema: options.schema } : {});
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return pool;
}

/**
 * Brings cadre's tables in `schema` (default: the connection's search_path) up to the newest
 * version this code knows, and creates the schema when missing. A database at a newer version than
 * that is refused with `store_failed` before anything changes: upgrade cadre to use it.
 */
export async function migrate(db: Pool | ClientBase, options: { schema?: string } = {}): Promise<MigrateResult> {
  if (options.schema !== undefined) checkSchemaName(options.schema);
  const pooled = isPool(db) ? await connect(db) : undefined;
  const client = pooled ?? (db as ClientBase);
  let failed = false;
  try {
    return await migrateWith(client, options.schema);
  } catch (error) {
    if (CadreError.isInstance(error)) throw error;
    failed = true;
    const message = error instanceof Error ? error.message : String(error);
    throw new CadreError('store_failed', `PostgreSQL migration failed: ${message}`, { cause: error });
  } finally {
    // A connection that failed mid-transaction is dropped rather than handed to the next caller.
    pooled?.release(failed);
  }
}

async function migrateWith(client: ClientBase, schema: string | undefined): Promise<MigrateResult> {
  const latest = migrations.at(-1)!.version;
  let current = await locked(client, schema, async () => {
    await client.query(`CREATE TABLE IF NOT EXISTS cadre_schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    return highest(client);
  });
  if (current > latest)
    throw new CadreError(
      'store_failed',
      `The database is at schema version ${current}, newer than version ${latest}, the newest this cadre knows: upgrade cadre`,
      { details: { current, known: latest } },
    );
  const applied: MigrateResult['applied'] = [];
  for (const { version, name, sql } of migrations) {
    if (version <= current) continue;
    const done = await locked(client, schema, async () => {
      // Another process may have applied it while this one waited for the lock.
      if ((await client.query('SELECT 1 FROM cadre_schema_migrations WHERE version = $1', [version])).rowCount)
        return false;
      await client.query(sql);
      await client.query('INSERT INTO cadre_schema_migrations (version, name) VALUES ($1, $2)', [version, name]);
      return true;
    });
    if (done) applied.push({ version, name });
    current = version;
  }
  return { applied, current };
}

async function connect(pool: Pool): Promise<PoolClient> {
  try {
    return await pool.connect();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CadreError('store_failed', `PostgreSQL migration failed: ${message}`, { cause: error });
  }
}

/** Runs `work` in a transaction holding the migration lock, with `schema` (created if missing) first in the search_path. */
async function locked<T>(client: ClientBase, schema: string | undefined, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
    if (schema) {
      // CREATE SCHEMA IF NOT EXISTS needs the right to create schemas even when it exists already.
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (!exists.rowCount) await client.query(`CREATE SCHEMA "${schema}"`);
      await client.query(`SET LOCAL search_path TO "${schema}"`);
    }
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function highest(client: ClientBase): Promise<number> {
  const { rows } = await client.query<{ version: number | null }>(
    'SELECT max(version) AS version FROM cadre_schema_migrations',
  );
  return rows[0]?.version ?? 0;
}
