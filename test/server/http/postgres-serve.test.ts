import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { closePostgresRuns, configuredRunStore, loadApp, loadConfig, runNamed } from 'cadre';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createCadreMcpServer } from '../../../src/server/mcp/index.js';
import { connectInMemory } from '../mcp-fixtures.js';
import { createHttpApi, serveHttpApi } from '../../../src/server/http/index.js';
import { startServe, stopServeProcesses } from '../../fixtures/serve-process.js';
import { withOsUser } from '../../fixtures/postgres-url.js';
import { localHost, testApp } from './http-fixtures.js';

const url = process.env.CADRE_DATABASE_URL;
if (!url)
  process.stdout.write(
    'API keys on PostgreSQL skipped: set CADRE_DATABASE_URL (e.g. postgres://127.0.0.1:5432/test)\n',
  );
const root = fileURLToPath(new URL('../../../', import.meta.url));
const schema = `cadre_test_${randomBytes(6).toString('hex')}`;
const fixtureApp = join(root, 'test/fixtures/cadre-app.ts');

/** A server of its own (its own data folder: nothing shared but the database) with runs and keys in PostgreSQL. */
function server() {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-pgkeys-'));
  const config = {
    runStore: 'postgres' as const,
    databaseUrl: url!,
    databaseSchema: schema,
    databasePath: join(dir, 'cadre.db'),
  };
  return { api: createHttpApi({ app: testApp().app, config, server: { workers: 0 } }), config };
}

const listRuns = (api: ReturnType<typeof createHttpApi>, key: string) =>
  api.app.request('/runs', { headers: { Host: localHost, Authorization: `Bearer ${key}` } });

const mcpClients: Client[] = [];

afterAll(async () => {
  stopServeProcesses();
  await Promise.all(mcpClients.map((c) => c.close()));
  await closePostgresRuns();
  if (!url) return;
  const admin = new pg.Client({ connectionString: withOsUser(url) });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe.skipIf(!url)('API keys and threads with runs in PostgreSQL', () => {
  it('a key made by `cadre keys create` works on every server of the database, and a revocation on one holds at once on all', async () => {
    const a = server();
    const b = server();
    const made = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'keys', 'create', '--name', 'ops', '--json'],
      {
        cwd: root,
        encoding: 'utf8',
        env: {
          ...process.env,
          CADRE_RUN_STORE: 'postgres',
          CADRE_DATABASE_URL: url!,
          CADRE_DATABASE_SCHEMA: schema,
          CADRE_DATABASE_PATH: join(mkdtempSync(join(tmpdir(), 'cadre-pgkeys-cli-')), 'cadre.db'),
        },
      },
    );
    expect(made.status, made.stderr).toBe(0);
    const { key, id } = JSON.parse(made.stdout) as { key: string; id: string };
    expect((await listRuns(a.api, key)).status).toBe(200);
    expect((await listRuns(b.api, key)).status).toBe(200);
    // Neither server's own file knows the key: it is in PostgreSQL alone.
    expect((await a.api.keys.list()).map((k) => k.id)).toContain(id);
    for (const { config } of [a, b]) {
      const file = new Database(config.databasePath, { readonly: true });
      expect(file.prepare('SELECT COUNT(*) AS n FROM api_keys').get()).toEqual({ n: 0 });
      file.close();
    }

    expect(await b.api.keys.revoke(id)).toBe(true);
    expect((await listRuns(a.api, key)).status).toBe(401);
    expect((await listRuns(b.api, key)).status).toBe(401);
    expect(await a.api.keys.revoke(id)).toBe(false);
    await Promise.all([a.api.shutdown(), b.api.shutdown()]);
  }, 60_000);

  it('keeps only the id and the SHA-256 of a key: no column of any row holds the key or its secret', async () => {
    const { api } = server();
    const created = [await api.keys.create({ name: 'one' }), await api.keys.create({ name: 'root', admin: true })];
    const admin = new pg.Client({ connectionString: withOsUser(url!) });
    await admin.connect();
    try {
      const { rows } = await admin.query<Record<string, unknown>>(`SELECT * FROM ${schema}.cadre_api_keys`);
      const cells = rows.flatMap((row) =>
        Object.values(row).map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v))),
      );
      for (const { key, id, admin: isAdmin } of created) {
        const secret = key.slice(`cadre_${id}_`.length);
        for (const cell of cells) {
          expect(cell.includes(key)).toBe(false);
          expect(cell.includes(secret)).toBe(false);
        }
        const row = rows.find((r) => r.id === id)!;
        expect(Buffer.compare(row.hash as Buffer, createHash('sha256').update(key).digest())).toBe(0);
        expect(row.admin).toBe(isAdmin);
      }
    } finally {
      await admin.end();
    }
    // A key one character off is refused.
    const near = created[0]!.key.slice(0, -1) + (created[0]!.key.endsWith('A') ? 'B' : 'A');
    expect((await listRuns(api, near)).status).toBe(401);
    expect((await listRuns(api, created[0]!.key)).status).toBe(200);
    await api.shutdown();
  });
  it('a thread opened on one server is continued on another: both read the same messages and runs', async () => {
    const a = server();
    const b = server();
    const { key } = await a.api.keys.create({ name: 'chat' });
    const call = async (api: ReturnType<typeof createHttpApi>, path: string, body?: unknown) => {
      const response = await api.app.request(path, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { Host: localHost, Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const opened = await call(a.api, '/threads', { agent: 'echo' });
    expect(opened.status).toBe(201);
    const id = opened.body.id as string;
    const first = await call(a.api, `/threads/${id}/messages`, { text: 'hello' });
    expect(first.status).toBe(202);
    await a.api.runs.handle(first.body.runId as string)?.result;
    // Server B, which started nothing, sees the thread, writes the reply of A's run, and takes the next message.
    const second = await call(b.api, `/threads/${id}/messages`, { text: 'again' });
    expect(second.status).toBe(202);
    expect(second.body.queued).toBe(false);
    await b.api.runs.handle(second.body.runId as string)?.result;
    const detail = (await call(a.api, `/threads/${id}`)).body as {
      messages: Array<{ role: string; text: string; runId?: string }>;
      runs: Array<{ id: string; status: string }>;
    };
    expect(detail.messages.map((m) => [m.role, m.text])).toEqual([
      ['user', 'hello'],
      ['assistant', 'echo'],
      ['user', 'again'],
      ['assistant', 'echo'],
    ]);
    expect(detail.runs.map((r) => r.status)).toEqual(['completed', 'completed']);
    for (const { config } of [a, b]) {
      const file = new Database(config.databasePath, { readonly: true });
      expect(file.prepare('SELECT COUNT(*) AS n FROM threads').get()).toEqual({ n: 0 });
      file.close();
    }
    // Either server's metrics read the runs from PostgreSQL: both turns, whichever server ran them.
    const { key: admin } = await b.api.keys.create({ name: 'ops', admin: true });
    const metrics = await (
      await a.api.app.request('/metrics', { headers: { Host: localHost, Authorization: `Bearer ${admin}` } })
    ).text();
    expect(metrics).toMatch(/^cadre_runs\{status="completed"\} 2$/m);
    expect(metrics).toMatch(/^cadre_run_seconds_count\{team="agent:echo"\} 2$/m);
    expect(metrics).toMatch(/^cadre_model_tokens\{team="agent:echo",model="scripted",direction="out"\} 2$/m);
    expect(metrics).toMatch(/^cadre_model_cost_usd\{team="agent:echo",model="scripted"\} 0$/m);
    await Promise.all([a.api.shutdown(), b.api.shutdown()]);
  }, 60_000);
  it('an MCP server on the same database lists the runs and reads their events from PostgreSQL', async () => {
    const { config } = server();
    const handle = await runNamed({ app: testApp().app, agent: 'echo', goal: 'over MCP', config });
    const result = await handle.result;
    expect(result.status).toBe('completed');
    const client = await connectInMemory(
      createCadreMcpServer({ tools: [], store: configuredRunStore(loadConfig(config)) }),
      mcpClients,
    );
    const listed = await client.listResources();
    expect(listed.resources.map((r) => r.uri)).toContain(`cadre://runs/${handle.runId}`);
    const read = await client.readResource({ uri: `cadre://runs/${handle.runId}/events` });
    const events = JSON.parse((read.contents[0] as { text: string }).text) as Array<{ type: string }>;
    expect(events[0]).toMatchObject({ type: 'run.started' });
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'completed' });
  });
  it('re-drives a run a killed `cadre serve` left running: the next server on this host claims it from PostgreSQL and completes it', async () => {
    const data = mkdtempSync(join(tmpdir(), 'cadre-pgredrive-'));
    const env = {
      CADRE_RUN_STORE: 'postgres',
      CADRE_DATABASE_URL: url!,
      CADRE_DATABASE_SCHEMA: schema,
      CADRE_TEST_LATENCY_MS: '150',
    };
    const first = await startServe({ data, app: fixtureApp, env });
    const { key } = await server().api.keys.create({ name: 'redrive' });
    const created = await fetch(`${first.url}/runs`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ team: 'chain', goal: 'killed mid-way' }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    const status = async () => {
      const client = new pg.Client({ connectionString: withOsUser(url!) });
      await client.connect();
      try {
        const { rows } = await client.query<{ status: string }>(
          `SELECT status FROM ${schema}.cadre_runs WHERE id = $1`,
          [id],
        );
        return rows[0]?.status;
      } finally {
        await client.end();
      }
    };
    for (let tries = 0; (await status()) !== 'running' && tries < 100; tries++) await sleep(20);
    first.child.kill('SIGKILL');
    await first.exited;
    const api = createHttpApi({
      app: await loadApp({ path: fixtureApp }),
      config: { ...server().config, dataDir: data },
      server: { port: 0 },
    });
    expect((await api.keys.list()).length).toBeGreaterThan(0);
    const serving = await serveHttpApi(api);
    try {
      expect(serving.redriven.resumed).toEqual([id]);
      await api.runs.handle(id)!.result;
      expect(await status()).toBe('completed');
    } finally {
      await serving.close();
    }
  }, 60_000);
});
