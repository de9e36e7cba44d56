import { apiKeyId, apiKeyMatches, newApiKey, type ApiKeyRecord, type ApiKeys } from '../api-key-store.js';
import { openMigratedPool } from './migrations.js';
import type { PostgresPoolOptions } from './postgres-options.js';
import { queryOn, serverName } from './postgres-pool.js';

interface Row {
  id: string;
  name: string;
  hash: Buffer;
  admin: boolean;
  /** bigint: pg gives it as a string. */
  created_at: string;
  revoked_at: string | null;
}

function toRecord(row: Row): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    admin: row.admin,
    createdAt: Number(row.created_at),
    ...(row.revoked_at !== null ? { revokedAt: Number(row.revoked_at) } : {}),
  };
}

/**
 * The HTTP API's keys in PostgreSQL (`cadre_api_keys`), so that every server on the database knows
 * every key and a revocation holds at once in all of them. Its own small pool, migrated on open.
 */
export async function openPostgresApiKeys(options: PostgresPoolOptions): Promise<ApiKeys & { close(): Promise<void> }> {
  const pool = await openMigratedPool({ ...options, max: options.max ?? 4 });
  const server = serverName(new URL(options.url));
  const rows = async (sql: string, values: unknown[] = []) => (await queryOn<Row>(pool, server, sql, values)).rows;
  const list = async () => (await rows('SELECT * FROM cadre_api_keys ORDER BY created_at, id')).map(toRecord);
  return {
    create: async (input) => {
      const { created, hash } = newApiKey(input);
      await queryOn(
        pool,
        server,
        'INSERT INTO cadre_api_keys (id, name, hash, admin, created_at) VALUES ($1, $2, $3, $4, $5)',
        [created.id, created.name, hash, created.admin, created.createdAt],
      );
      return created;
    },
    verify: async (key) => {
      const id = apiKeyId(key);
      const [row] = id !== undefined ? await rows('SELECT * FROM cadre_api_keys WHERE id = $1', [id]) : [];
      if (!apiKeyMatches(key, row?.hash) || !row || row.revoked_at !== null) return undefined;
      return toRecord(row);
    },
    list,
    revoke: async (id) => {
      const { rowCount } = await queryOn(
        pool,
        server,
        'UPDATE cadre_api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL',
        [Date.now(), id],
      );
      return rowCount === 1;
    },
    hasLiveKey: async () => (await list()).some((key) => key.revokedAt === undefined),
    close: () => pool.end(),
  };
}
