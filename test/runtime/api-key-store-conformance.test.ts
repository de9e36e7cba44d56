import { afterAll, beforeAll, describe, it } from 'vitest';
import type { ApiKeys } from 'cadre';
import { apiKeyStoreConformance } from 'cadre/testing';
import { openCadreStore, sqliteApiKeys } from '../../src/runtime/store/index.js';
import { openPostgresApiKeys } from '../../src/runtime/store/postgres/postgres-api-keys.js';
import { postgresSchemas } from '../fixtures/postgres-url.js';

const url = process.env.CADRE_DATABASE_URL;
if (!url)
  process.stdout.write(
    'PostgreSQL API key tests skipped: set CADRE_DATABASE_URL (e.g. postgres://127.0.0.1:5432/test)\n',
  );

// An in-memory database of its own for each test: the keys have no close, so the database is closed here.
const sqliteStores = new Map<ApiKeys, ReturnType<typeof openCadreStore>>();

apiKeyStoreConformance({
  name: 'SQLite API keys',
  create: () => {
    const store = openCadreStore({ path: ':memory:' });
    const keys = sqliteApiKeys(store.db);
    sqliteStores.set(keys, store);
    return keys;
  },
  destroy: (keys) => {
    sqliteStores.get(keys)?.close();
    sqliteStores.delete(keys);
  },
  testApi: { describe, it },
});

// Every PostgreSQL test works in a schema of its own, dropped when it ends (and any left over, at the end).
const schemas = postgresSchemas(url);
const freshSchema = schemas.fresh;
const dropSchema = schemas.drop;
beforeAll(schemas.open);
afterAll(schemas.close);

describe.skipIf(!url)('PostgreSQL API keys', () => {
  // Each test's keys (their own pool, closed after) and schema.
  const opened = new Map<ApiKeys, { close: () => Promise<void>; schema: string }>();
  apiKeyStoreConformance({
    name: 'PostgreSQL API keys',
    create: async () => {
      const schema = freshSchema();
      const keys = await openPostgresApiKeys({ url: url!, schema });
      opened.set(keys, { close: () => keys.close(), schema });
      return keys;
    },
    destroy: async (keys) => {
      const made = opened.get(keys);
      opened.delete(keys);
      if (!made) return;
      await made.close();
      await dropSchema(made.schema);
    },
    testApi: { describe, it },
  });
});
