import { migrate } from './migrations.js';
import type { PostgresPoolOptions } from './postgres-options.js';
import { openPostgresPool } from './postgres-pool.js';
import type { MigrateResult } from './schema-versions.js';

/**
 * Brings cadre's tables in the PostgreSQL database at `url` (in `schema`, when given) up to the
 * newest version this cadre knows, on one connection, as `cadre db migrate` does. A database at a
 * newer version is refused with `store_failed`; a server that cannot be reached is `store_failed` too.
 */
export async function migratePostgres(options: PostgresPoolOptions): Promise<MigrateResult> {
  const pool = await openPostgresPool({ ...options, max: 1 });
  try {
    return await migrate(pool, options.schema !== undefined ? { schema: options.schema } : {});
  } finally {
    await pool.end();
  }
}
