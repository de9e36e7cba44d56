import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScriptFunction } from 'cadre/testing';
import type { McpServerConfig } from 'cadre/tools';
import { requires, runWithServers, seedEntries } from './seed-servers.js';
import { withOsUser } from '../../fixtures/postgres-url.js';

// The reference PostgreSQL server (one `query` tool, run in a READ ONLY transaction) against the
// local PostgreSQL; everything it touches lives in a throwaway schema and role, dropped afterwards.
// A URL without a user means the OS user, as for psql (node-postgres reads only $USER, unset in some CI shells).
const url = withOsUser(process.env.CADRE_DATABASE_URL ?? 'postgres://127.0.0.1:5432/test');
const suffix = randomBytes(4).toString('hex');
const schema = `cadre_seed_${suffix}`;
const reader = `cadre_seed_reader_${suffix}`;
const table = `${schema}.fruit`;

let admin: pg.Client | undefined;
let missing: string | undefined;

beforeAll(async () => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (error) {
    missing = `PostgreSQL not answering at ${url}: ${(error as Error).message}`;
    return;
  }
  admin = client;
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text NOT NULL)`);
  await client.query(`INSERT INTO ${table} VALUES (1, 'apple'), (2, 'pear')`);
  // A role that may only read the table: what a model's SQL should be run as.
  await client.query(`CREATE ROLE ${reader} LOGIN`);
  await client.query(`GRANT USAGE ON SCHEMA ${schema} TO ${reader}`);
  await client.query(`GRANT SELECT ON ${table} TO ${reader}`);
});
afterAll(async () => {
  if (!admin) return;
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.query(`DROP ROLE IF EXISTS ${reader}`);
  await admin.end();
});

const names = async () => (await admin!.query<{ name: string }>(`SELECT name FROM ${table} ORDER BY id`)).rows;
const asUser = (user: string) => {
  const u = new URL(url);
  u.username = user;
  return u.href;
};
const server = (connection: string, extra: Partial<McpServerConfig> = {}) =>
  ({ command: process.execPath, args: [seedEntries.postgres, connection], ...extra }) as McpServerConfig;

/**
 * One statement that reads: SELECT, WITH or EXPLAIN, no `;` but a last one. The server's READ ONLY
 * transaction refuses what a SELECT could still write (SELECT INTO, nextval); the single statement
 * keeps `COMMIT; …` from leaving that transaction.
 */
const readOnlySql = { pattern: String.raw`^\s*(select|with|explain)\b[^;]*;?\s*$`, flags: 'i' };

/** A model that runs each statement with `db__query` in turn, then answers with what came back. */
const statements = (...sql: string[]): { respond: ScriptFunction } => ({
  respond: ({ call, toolResults }) =>
    call < sql.length
      ? { toolCalls: [{ name: 'db__query', args: { sql: sql[call]! } }] }
      : `done: ${toolResults.map((r) => r.content).join(' | ')}`,
});

describe('server-postgres in a run', { timeout: 60_000 }, () => {
  it('answers a SELECT and refuses an INSERT in its read-only transaction, with query declared read', async (context) => {
    requires(context, missing);
    const { result, calls } = await runWithServers({
      goal: 'Which fruit do we have? Then add a cherry.',
      ...statements(`SELECT name FROM ${table} ORDER BY id`, `INSERT INTO ${table} VALUES (3, 'cherry')`),
      mcpServers: { db: server(url, { effects: { query: 'read' } }) },
      toolPolicy: { approval: { write: 'deny' } },
    });
    expect(result.status).toBe('completed');
    expect(calls.map((c) => c.ok)).toEqual([true, false]);
    expect(JSON.parse(calls[0]!.output)).toEqual([{ name: 'apple' }, { name: 'pear' }]);
    // cadre let it through (the tool is declared read); the server's transaction refused it.
    expect(calls[1]!.error).toMatchObject({ message: expect.stringMatching(/read-only transaction/) });
    expect(await names()).toEqual([{ name: 'apple' }, { name: 'pear' }]);
  });

  it('with an argument rule for one read-only statement, policy refuses the write and the COMMIT escape before the server sees them', async (context) => {
    requires(context, missing);
    const select = `SELECT name FROM ${table} ORDER BY id`;
    const { result, calls, audit } = await runWithServers({
      goal: 'Which fruit do we have? Then add a cherry, twice.',
      ...statements(
        select,
        `INSERT INTO ${table} VALUES (3, 'cherry')`,
        `COMMIT; INSERT INTO ${table} VALUES (3, 'cherry')`,
      ),
      // Connected as the owner: only the policy stands between the model and a write.
      mcpServers: { db: server(url, { effects: { query: 'read' } }) },
      toolPolicy: { arguments: { db__query: { sql: readOnlySql } } },
    });
    expect(result.status).toBe('completed');
    expect(calls.map((c) => c.ok)).toEqual([true, false, false]);
    expect(JSON.parse(calls[0]!.output)).toEqual([{ name: 'apple' }, { name: 'pear' }]);
    for (const refused of calls.slice(1))
      expect(refused.error).toMatchObject({
        code: 'tool_denied',
        message: expect.stringContaining('argument `sql` does not match the pattern policy allows'),
      });
    expect(audit('db__query').map((r) => r.decision)).toEqual(['allowed', 'denied', 'denied']);
    expect(await names()).toEqual([{ name: 'apple' }, { name: 'pear' }]);
  });

  it('left undeclared, query counts as a write: policy refuses it before the server sees it', async (context) => {
    requires(context, missing);
    const { result, calls, audit } = await runWithServers({
      goal: 'Add a cherry.',
      ...statements(`INSERT INTO ${table} VALUES (3, 'cherry')`),
      mcpServers: { db: server(url) },
      toolPolicy: { approval: { write: 'ask' } },
    });
    expect(result.status).toBe('completed');
    expect(calls[0]).toMatchObject({ ok: false, error: expect.objectContaining({ code: 'approval_denied' }) });
    expect(audit('db__query')).toEqual([expect.objectContaining({ decision: 'approval_denied' })]);
    expect(await names()).toEqual([{ name: 'apple' }, { name: 'pear' }]);
  });

  it('is escaped by "COMMIT; INSERT …" unless it connects as a role that can only read', async (context) => {
    requires(context, missing);
    const escape = `COMMIT; INSERT INTO ${table} VALUES (3, 'cherry')`;
    // Connected as a role that may read the table and nothing else: the escape fails in the database.
    const guarded = await runWithServers({
      goal: 'Add a cherry.',
      ...statements(escape),
      mcpServers: { db: server(asUser(reader), { effects: { query: 'read' } }) },
    });
    expect(guarded.calls[0]).toMatchObject({
      ok: false,
      error: expect.objectContaining({ message: expect.stringMatching(/permission denied/) }),
    });
    expect(await names()).toEqual([{ name: 'apple' }, { name: 'pear' }]);
    // Connected as the owner, the read-only transaction alone does not keep the write out.
    await runWithServers({
      goal: 'Add a cherry.',
      ...statements(escape),
      mcpServers: { db: server(url, { effects: { query: 'read' } }) },
    });
    expect(await names()).toEqual([{ name: 'apple' }, { name: 'pear' }, { name: 'cherry' }]);
  });
});
