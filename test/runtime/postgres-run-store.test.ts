import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CadreError } from 'cadre';
import { runStoreConformance } from 'cadre/testing';
import { migrate, openPostgresPool, openPostgresRunStore } from '../../src/runtime/store/index.js';

const url = process.env.CADRE_DATABASE_URL;
if (!url)
  process.stdout.write(
    'PostgreSQL run store tests skipped: set CADRE_DATABASE_URL (e.g. postgres://127.0.0.1:5432/test)\n',
  );

// A URL without a user means the OS user, as for psql (node-postgres reads only $USER, unset in some CI shells).
const adminUrl = () => {
  const withUser = new URL(url!);
  if (!withUser.username) withUser.username = process.env.PGUSER ?? userInfo().username;
  return withUser.href;
};

// Every schema this file uses is its own, so parallel test files and CI runs never meet; all are dropped at the end.
const schemas: string[] = [];
const freshSchema = () => {
  schemas.push(`cadre_test_${randomBytes(6).toString('hex')}`);
  return schemas.at(-1)!;
};
let admin: pg.Client | undefined;

beforeAll(async () => {
  if (!url) return;
  admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
});
afterAll(async () => {
  if (!admin) return;
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

const sql = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) =>
  (await admin!.query<R>(text, values)).rows;
const versions = async (schema: string) =>
  (await sql<{ version: number }>(`SELECT version FROM ${schema}.cadre_schema_migrations ORDER BY version`)).map(
    (row) => row.version,
  );
const tables = async (schema: string) =>
  (
    await sql<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    )
  ).map((row) => row.table_name);

const rejectsWith = async (promise: Promise<unknown>, code: string) => {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(CadreError.isInstance(error), `expected a CadreError, got ${String(error)}`).toBe(true);
  expect((error as CadreError).code).toBe(code);
  return error as CadreError;
};

describe.skipIf(!url)('PostgreSQL run store', () => {
  const schema = freshSchema();
  runStoreConformance({
    name: 'PostgreSQL run store',
    create: () => openPostgresRunStore({ url: url!, schema }),
    destroy: (store) => store.close(),
    testApi: { describe, it },
  });
});

describe.skipIf(!url)('PostgreSQL migrations', () => {
  it('creates the schema and its tables on the first migration and applies nothing the second time', async () => {
    const schema = freshSchema();
    const pool = await openPostgresPool({ url: url!, schema });
    try {
      expect(await migrate(pool, { schema })).toEqual({
        applied: [{ version: 1, name: 'runs and events' }],
        current: 1,
      });
      expect(await migrate(pool, { schema })).toEqual({ applied: [], current: 1 });
    } finally {
      await pool.end();
    }
    expect(await versions(schema)).toEqual([1]);
    expect(await tables(schema)).toEqual(['cadre_event_seq', 'cadre_events', 'cadre_runs', 'cadre_schema_migrations']);
  });

  it('applies version 1 exactly once when four pools migrate one fresh schema at the same time', async () => {
    const schema = freshSchema();
    const pools = await Promise.all([1, 2, 3, 4].map(() => openPostgresPool({ url: url!, schema })));
    try {
      const results = await Promise.all(pools.map((pool) => migrate(pool, { schema })));
      expect(results.map((result) => result.current)).toEqual([1, 1, 1, 1]);
      expect(results.flatMap((result) => result.applied)).toEqual([{ version: 1, name: 'runs and events' }]);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
    expect(await versions(schema)).toEqual([1]);
  });

  it('refuses a database at a newer version (999) with store_failed, naming both versions, and changes nothing', async () => {
    const schema = freshSchema();
    await sql(`CREATE SCHEMA ${schema}`);
    await sql(`CREATE TABLE ${schema}.cadre_schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    await sql(`INSERT INTO ${schema}.cadre_schema_migrations (version, name) VALUES (999, 'from the future')`);

    const error = await rejectsWith(openPostgresRunStore({ url: url!, schema }), 'store_failed');
    expect(error.message).toMatch(/version 999/);
    expect(error.message).toMatch(/version 1\b/);
    expect(error.message).toMatch(/upgrade cadre/);
    expect(await versions(schema)).toEqual([999]);
    expect(await tables(schema)).toEqual(['cadre_schema_migrations']);
  });

  it('keeps the tables of a schema apart from those of another schema on the same database', async () => {
    const [a, b] = [freshSchema(), freshSchema()];
    const storeA = await openPostgresRunStore({ url: url!, schema: a });
    const storeB = await openPostgresRunStore({ url: url!, schema: b });
    try {
      await storeA.runs.create({ id: 'run-1', goal: 'in a' });
      expect(await storeB.runs.get('run-1')).toBeUndefined();
      await storeB.runs.create({ id: 'run-1', goal: 'in b' });
      expect((await storeA.runs.get('run-1'))?.goal).toBe('in a');
      expect(storeA.kind).toBe('postgres');
    } finally {
      await Promise.all([storeA.close(), storeB.close()]);
    }
    expect(await sql(`SELECT goal FROM ${b}.cadre_runs`)).toEqual([{ goal: 'in b' }]);
  });
});

// These fail before any server answers: they need the pg package, not PostgreSQL.
describe('PostgreSQL run store: bad options and unreachable servers', () => {
  it('refuses a bad schema name with config_invalid before connecting', async () => {
    for (const schema of ['Cadre', '1cadre', 'cadre-test', 'x; DROP TABLE cadre_runs', '', 'a'.repeat(64)]) {
      const error = await rejectsWith(
        openPostgresRunStore({ url: 'postgres://127.0.0.1:1/x', schema }),
        'config_invalid',
      );
      expect(error.message).toMatch(/schema name/);
    }
  });

  it('refuses a missing or non-PostgreSQL URL with config_invalid naming CADRE_DATABASE_URL', async () => {
    const missing = await rejectsWith(openPostgresRunStore({ url: '' }), 'config_invalid');
    expect(missing.message).toMatch(/CADRE_DATABASE_URL/);
    await rejectsWith(openPostgresRunStore({ url: 'not a url' }), 'config_invalid');
    await rejectsWith(openPostgresRunStore({ url: 'mysql://127.0.0.1/x' }), 'config_invalid');
  });

  it('reports an unreachable server as store_failed naming the server but never the password', async () => {
    for (const target of ['postgres://cadre:s3cr3t-pw@127.0.0.1:1/x', 'postgres://127.0.0.1:1/x?password=s3cr3t-pw']) {
      const error = await rejectsWith(openPostgresRunStore({ url: target }), 'store_failed');
      expect(error.message).toMatch(/127\.0\.0\.1:1\/x/);
      expect(JSON.stringify(error.toJSON())).not.toContain('s3cr3t-pw');
      expect(String(error.stack)).not.toContain('s3cr3t-pw');
    }
  });
});
