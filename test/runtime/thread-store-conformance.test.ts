import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CadreError, type ThreadRecords } from 'cadre';
import { threadStoreConformance } from 'cadre/testing';
import {
  openCadreStore,
  openPostgresThreadStore,
  sqliteThreadRecords,
  ThreadStore,
} from '../../src/runtime/store/index.js';
import { postgresSchemas } from '../fixtures/postgres-url.js';

const url = process.env.CADRE_DATABASE_URL;
if (!url)
  process.stdout.write(
    'PostgreSQL thread store tests skipped: set CADRE_DATABASE_URL (e.g. postgres://127.0.0.1:5432/test)\n',
  );

// An in-memory database of its own for each test; closing the records leaves it open, so it is closed here.
const sqliteStores = new Map<ThreadRecords, ReturnType<typeof openCadreStore>>();

threadStoreConformance({
  name: 'SQLite thread store',
  create: () => {
    const store = openCadreStore({ path: ':memory:' });
    const records = sqliteThreadRecords(new ThreadStore(store.db));
    sqliteStores.set(records, store);
    return records;
  },
  destroy: async (records) => {
    await records.close();
    sqliteStores.get(records)?.close();
    sqliteStores.delete(records);
  },
  testApi: { describe, it },
});

// Every PostgreSQL test works in a schema of its own, dropped when it ends (and any left over, at the end).
const schemas = postgresSchemas(url);
const freshSchema = schemas.fresh;
const dropSchema = schemas.drop;
beforeAll(schemas.open);
afterAll(schemas.close);

describe.skipIf(!url)('PostgreSQL thread store', () => {
  const schemaOf = new Map<ThreadRecords, string>();
  threadStoreConformance({
    name: 'PostgreSQL thread store',
    create: async () => {
      const schema = freshSchema();
      const records = await openPostgresThreadStore({ url: url!, schema });
      schemaOf.set(records, schema);
      return records;
    },
    destroy: async (records) => {
      await records.close();
      const schema = schemaOf.get(records);
      schemaOf.delete(records);
      if (schema) await dropSchema(schema);
    },
    testApi: { describe, it },
  });
});

describe.skipIf(!url)('PostgreSQL thread store across processes', () => {
  /** Two stores, each with a pool of its own, on one fresh schema: two processes on one database. */
  const twoStores = async (test: (a: ThreadRecords, b: ThreadRecords, schema: string) => Promise<void>) => {
    const schema = freshSchema();
    const a = await openPostgresThreadStore({ url: url!, schema, max: 4 });
    const b = await openPostgresThreadStore({ url: url!, schema, max: 4 });
    try {
      await test(a, b, schema);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await dropSchema(schema);
    }
  };
  const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

  it('numbers 40 messages appended at once through two stores 1 to 40, none lost', async () => {
    await twoStores(async (a, b) => {
      const thread = await a.create({
        ownerKey: 'k',
        agent: 'echo',
        policy: 'enqueue',
        contextTokens: 1,
        metadata: {},
      });
      const appended = await Promise.all(
        upTo(40).map((i) => (i % 2 ? a : b).append(thread.id, { role: 'user', text: `m${i}`, status: 'queued' })),
      );
      expect(appended.map((m) => m.seq).sort((x, y) => x - y)).toEqual(upTo(40));
      expect((await b.messages(thread.id)).map((m) => m.text).sort()).toEqual(
        upTo(40)
          .map((i) => `m${i}`)
          .sort(),
      );
      // The thread's row is locked by each append in turn: createdAt never falls as seq rises.
      const read = await a.messages(thread.id);
      for (let i = 1; i < read.length; i++) expect(read[i]!.createdAt).toBeGreaterThanOrEqual(read[i - 1]!.createdAt);
      expect((await a.get(thread.id))!.updatedAt).toBe(Math.max(...read.map((m) => m.createdAt)));
    });
  });

  it('numbers messages appended at once to a thread without a row (no lock to take) by trying again', async () => {
    await twoStores(async (a, b) => {
      const appended = await Promise.all(
        upTo(16).map((i) =>
          (i % 2 ? a : b).append('thread_missing', { role: 'user', text: `m${i}`, status: 'queued' }),
        ),
      );
      expect(appended.map((m) => m.seq).sort((x, y) => x - y)).toEqual(upTo(16));
      expect((await a.messages('thread_missing')).map((m) => m.seq)).toEqual(upTo(16));
    });
  });

  it('gives one of 20 claims of one message through two stores true', async () => {
    await twoStores(async (a, b) => {
      const thread = await a.create({ ownerKey: 'k', team: 't', policy: 'enqueue', contextTokens: 1, metadata: {} });
      await a.append(thread.id, { role: 'user', text: 'once', status: 'queued' });
      const claims = await Promise.all(upTo(20).map((i) => (i % 2 ? a : b).claim(thread.id, 1)));
      expect(claims.filter(Boolean)).toHaveLength(1);
    });
  });

  it('keeps createdAt and updatedAt as bigint and metadata as JSON text in its tables', async () => {
    await twoStores(async (a, _b, schema) => {
      const thread = await a.create({
        ownerKey: 'k',
        agent: 'echo',
        policy: 'enqueue',
        contextTokens: 1,
        metadata: { note: 'kept as text', n: [1, 2] },
      });
      const rows = await schemas.sql<{ metadata: string; created_at: string; kind: string }>(
        `SELECT metadata, created_at, pg_typeof(created_at)::text AS kind FROM ${schema}.cadre_threads WHERE id = $1`,
        [thread.id],
      );
      expect(rows).toEqual([
        { metadata: '{"note":"kept as text","n":[1,2]}', created_at: String(thread.createdAt), kind: 'bigint' },
      ]);
    });
  });

  it('reports a query on a closed store as store_failed naming the server', async () => {
    const store = await openPostgresThreadStore({ url: url!, schema: freshSchema() });
    await store.close();
    await store.close();
    const error = await store.get('thread_x').then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(CadreError.isInstance(error)).toBe(true);
    expect((error as CadreError).code).toBe('store_failed');
    expect((error as CadreError).message).toContain(`${new URL(url!).host}${new URL(url!).pathname}`);
  });
});
