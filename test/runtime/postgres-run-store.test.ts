import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CadreError, type RunStore } from 'cadre';
import {
  runFenceConformance,
  runStoreConformance,
  stepJournalConformance,
  taskOutcomeStoreConformance,
  toolCallJournalConformance,
} from 'cadre/testing';
import { migrations, openPostgresRunStore } from '../../src/runtime/store/index.js';
import { migrate } from '../../src/runtime/store/postgres/migrations.js';
import { openPostgresPool } from '../../src/runtime/store/postgres/postgres-pool.js';
import { withOsUser } from '../fixtures/postgres-url.js';

const url = process.env.CADRE_DATABASE_URL;
if (!url)
  process.stdout.write(
    'PostgreSQL run store tests skipped: set CADRE_DATABASE_URL (e.g. postgres://127.0.0.1:5432/test)\n',
  );

const adminUrl = () => withOsUser(url!);

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

describe.skipIf(!url)('PostgreSQL run fences', () => {
  const schema = freshSchema();
  runFenceConformance({
    name: 'PostgreSQL run store',
    create: () => openPostgresRunStore({ url: url!, schema }),
    destroy: (store) => store.close(),
    testApi: { describe, it },
  });
});

/** Each test opens a store of its own on `schema`, takes one part of it, and closes the store after. */
function storeParts(schema: string) {
  const stores = new Map<object, RunStore>();
  const open = async <J extends object>(pick: (store: RunStore) => J) => {
    const store = await openPostgresRunStore({ url: url!, schema });
    stores.set(pick(store), store);
    return pick(store);
  };
  const close = async (part: object) => {
    await stores.get(part)?.close();
    stores.delete(part);
  };
  return { open, close };
}

describe.skipIf(!url)('PostgreSQL journals', () => {
  const schema = freshSchema();
  const { open, close } = storeParts(schema);
  stepJournalConformance({
    name: 'PostgreSQL step journal',
    create: () => open((store) => store.steps),
    destroy: close,
    testApi: { describe, it },
  });
  toolCallJournalConformance({
    name: 'PostgreSQL tool-call journal',
    create: () => open((store) => store.toolCalls),
    destroy: close,
    testApi: { describe, it },
  });

  it('stores steps and tool calls with secrets redacted, as the SQLite store does', async () => {
    const store = await openPostgresRunStore({ url: url!, schema });
    const runId = `run-${randomBytes(6).toString('hex')}`;
    const args = { apiKey: 'abc123-not-a-real-key', url: 'https://user:s3cr3t-pw-123@example.com/x' };
    const key = { runId, taskId: 't1', callId: '0.0' };
    try {
      await store.steps.append({ kind: 'tool', ...key, index: 0, tool: 'http_get', args, ok: true, output: 'ok' });
      await store.toolCalls.begin({ ...key, tool: 'http_get', args, digest: 'd' });
      await store.toolCalls.complete(key, { ok: true, output: 'echo https://user:s3cr3t-pw-123@example.com/x' });
      expect(await store.steps.replay(runId, 't1')).toMatchObject([
        { args: { apiKey: '[redacted]', url: 'https://user:[redacted]@example.com/x' } },
      ]);
      expect(await store.toolCalls.get(key)).toMatchObject({ args: { apiKey: '[redacted]' }, digest: 'd' });
    } finally {
      await store.close();
    }
    const stored = JSON.stringify([
      await sql(`SELECT * FROM ${schema}.cadre_steps WHERE run_id = $1`, [runId]),
      await sql(`SELECT * FROM ${schema}.cadre_tool_calls WHERE run_id = $1`, [runId]),
    ]);
    expect(stored).toContain('[redacted]');
    expect(stored).not.toContain('abc123-not-a-real-key');
    expect(stored).not.toContain('s3cr3t-pw-123');
  });

  it('reports a failed journal query as store_failed naming the server', async () => {
    const store = await openPostgresRunStore({ url: url!, schema });
    await store.close();
    const server = `${new URL(url!).host}${new URL(url!).pathname}`;
    const replay = await rejectsWith(
      Promise.resolve().then(() => store.steps.replay('run-1', 't1')),
      'store_failed',
    );
    expect(replay.message).toContain(server);
    const key = { runId: 'run-1', taskId: 't1', callId: '1.0' };
    await rejectsWith(
      Promise.resolve().then(() => store.toolCalls.get(key)),
      'store_failed',
    );
  });
});

describe.skipIf(!url)('PostgreSQL task outcomes', () => {
  const schema = freshSchema();
  const { open, close } = storeParts(schema);
  taskOutcomeStoreConformance({
    name: 'PostgreSQL task outcomes',
    create: () => open((store) => store.outcomes),
    destroy: close,
    testApi: { describe, it },
  });

  it('reports a failed task outcome query as store_failed naming the server', async () => {
    const store = await openPostgresRunStore({ url: url!, schema });
    await store.close();
    const server = `${new URL(url!).host}${new URL(url!).pathname}`;
    const get = await rejectsWith(
      Promise.resolve().then(() => store.outcomes.get('run-1', 't1', 1)),
      'store_failed',
    );
    expect(get.message).toContain(server);
    await rejectsWith(
      Promise.resolve().then(() => store.outcomes.putRevision('run-1', 0, { graph: {} })),
      'store_failed',
    );
  });
});

describe.skipIf(!url)('PostgreSQL live events across processes', () => {
  it('a follower on one store (another server) gets each event another store stores, at once, in order, once', async () => {
    const schema = freshSchema();
    const worker = await openPostgresRunStore({ url: url!, schema });
    const server = await openPostgresRunStore({ url: url!, schema });
    try {
      const runId = `run-${randomBytes(4).toString('hex')}`;
      await worker.runs.create({ id: runId, goal: 'followed from elsewhere' });
      const event = (seq: number) =>
        ({
          type: 'task.started',
          runId,
          seq,
          ts: seq,
          taskId: 't',
          agent: 'a',
          role: 'r',
          title: 't',
          attempt: 1,
        }) as const;
      await worker.events.append([event(1)]);
      const stop = new AbortController();
      const seen: Array<{ seq: number; lagMs: number }> = [];
      const stored = new Map<number, number>();
      const following = (async () => {
        for await (const got of server.events.follow(runId, 1, stop.signal)) {
          seen.push({ seq: got.seq, lagMs: performance.now() - (stored.get(got.seq) ?? performance.now()) });
          if (got.seq === 30) stop.abort();
        }
      })();
      for (let seq = 2; seq <= 30; seq += 1) {
        await new Promise((resolve) => setTimeout(resolve, seq % 5));
        stored.set(seq, performance.now());
        await worker.events.append([event(seq)]);
      }
      await following;
      expect(seen.map((s) => s.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      // Woken by NOTIFY, not found by the one-second poll.
      expect(Math.max(...seen.slice(1).map((s) => s.lagMs))).toBeLessThan(500);
    } finally {
      await worker.close();
      await server.close();
    }
  });
});

const allVersions = [
  { version: 1, name: 'runs and events' },
  { version: 2, name: 'step and tool-call journals' },
  { version: 3, name: 'task outcomes' },
  { version: 4, name: 'run fences' },
  { version: 5, name: 'API keys and threads' },
  { version: 6, name: 'tool audit log' },
  { version: 7, name: 'run owners' },
  { version: 8, name: 'queue records' },
];
const latest = allVersions.at(-1)!.version;
const every = allVersions.map((v) => v.version);

describe.skipIf(!url)('PostgreSQL migrations', () => {
  it('creates the schema and its tables on the first migration and applies nothing the second time', async () => {
    const schema = freshSchema();
    const pool = await openPostgresPool({ url: url!, schema });
    try {
      expect(await migrate(pool, { schema })).toEqual({ applied: allVersions, current: latest });
      expect(await migrate(pool, { schema })).toEqual({ applied: [], current: latest });
    } finally {
      await pool.end();
    }
    expect(await versions(schema)).toEqual(every);
    expect(await tables(schema)).toEqual([
      'cadre_api_keys',
      'cadre_event_seq',
      'cadre_events',
      'cadre_queue_fields',
      'cadre_queue_locks',
      'cadre_queue_members',
      'cadre_run_fences',
      'cadre_runs',
      'cadre_schema_migrations',
      'cadre_steps',
      'cadre_task_outcomes',
      'cadre_thread_messages',
      'cadre_threads',
      'cadre_tool_audit',
      'cadre_tool_calls',
    ]);
  });

  it('migrates a schema at version 1 to the newest, applying only the versions after 1 and keeping its runs', async () => {
    // The schema as a cadre that knew version 1 alone left it, with a run in it.
    const schema = freshSchema();
    await sql(`CREATE SCHEMA ${schema}`);
    await sql(`SET search_path TO ${schema}`);
    try {
      await sql(migrations[0]!.sql);
      await sql(`CREATE TABLE cadre_schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      await sql(`INSERT INTO cadre_schema_migrations (version, name) VALUES (1, 'runs and events')`);
      await sql(
        `INSERT INTO cadre_runs (id, goal, status, created_at, updated_at) VALUES ('run-1', 'kept', 'completed', 1, 1)`,
      );
    } finally {
      await sql('RESET search_path');
    }
    const store = await openPostgresRunStore({ url: url!, schema });
    try {
      expect((await store.runs.get('run-1'))?.goal).toBe('kept');
      await store.outcomes.putRevision('run-1', 0, { graph: { tasks: [] } });
      expect(await store.outcomes.lastRevision('run-1')).toEqual({ graph: { tasks: [] }, revision: 0 });
      expect(await store.fences.take('run-1', 1)).toBe(true);
    } finally {
      await store.close();
    }
    expect(await versions(schema)).toEqual(every);
  });

  it('applies each version exactly once when four pools migrate one fresh schema at the same time', async () => {
    const schema = freshSchema();
    const pools = await Promise.all([1, 2, 3, 4].map(() => openPostgresPool({ url: url!, schema })));
    try {
      const results = await Promise.all(pools.map((pool) => migrate(pool, { schema })));
      expect(results.map((result) => result.current)).toEqual([latest, latest, latest, latest]);
      const applied = results.flatMap((result) => result.applied).sort((a, b) => a.version - b.version);
      expect(applied).toEqual(allVersions);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
    expect(await versions(schema)).toEqual(every);
  });

  it('refuses a database at a newer version (999) with store_failed, naming both versions, and changes nothing', async () => {
    const schema = freshSchema();
    await sql(`CREATE SCHEMA ${schema}`);
    await sql(`CREATE TABLE ${schema}.cadre_schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    await sql(`INSERT INTO ${schema}.cadre_schema_migrations (version, name) VALUES (999, 'from the future')`);

    const error = await rejectsWith(openPostgresRunStore({ url: url!, schema }), 'store_failed');
    expect(error.message).toMatch(/version 999/);
    expect(error.message).toMatch(new RegExp(`version ${latest}\\b`));
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
