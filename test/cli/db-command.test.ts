import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOsUser } from '../fixtures/postgres-url.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const url = process.env.CADRE_DATABASE_URL;
if (!url)
  process.stdout.write(
    'cadre db migrate tests skipped: set CADRE_DATABASE_URL (e.g. postgres://127.0.0.1:5432/test)\n',
  );

/** The CLI in a process of its own, with no CADRE_DATABASE_URL unless `env` gives one. */
function cadre(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

// The CLI has no schema option: each test points the URL's search_path (libpq's `options`
// parameter) at a fresh schema of its own, created here and dropped at the end.
const schemas: string[] = [];
let admin: pg.Client | undefined;
const inFreshSchema = async () => {
  const schema = `cadre_test_${randomBytes(6).toString('hex')}`;
  schemas.push(schema);
  await admin!.query(`CREATE SCHEMA ${schema}`);
  const target = new URL(url!);
  target.searchParams.set('options', `-c search_path=${schema}`);
  return { schema, url: target.href };
};

beforeAll(async () => {
  if (!url) return;
  admin = new pg.Client({ connectionString: withOsUser(url) });
  await admin.connect();
});
afterAll(async () => {
  if (!admin) return;
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe('cadre db migrate', { timeout: 120_000 }, () => {
  it.skipIf(!url)('migrates a fresh database to version 8 (--json), then finds it up to date', async () => {
    const { schema, url: target } = await inFreshSchema();
    const first = cadre(['db', 'migrate', '--database-url', target, '--json']);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({
      current: 8,
      applied: [
        { version: 1, name: 'runs and events' },
        { version: 2, name: 'step and tool-call journals' },
        { version: 3, name: 'task outcomes' },
        { version: 4, name: 'run fences' },
        { version: 5, name: 'API keys and threads' },
        { version: 6, name: 'tool audit log' },
        { version: 7, name: 'run owners' },
        { version: 8, name: 'queue records' },
      ],
    });
    const tables = await admin!.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual([
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

    const again = cadre(['db', 'migrate', '--database-url', target]);
    expect(again.status).toBe(0);
    expect(again.stdout).toBe('up to date (version 8)\n');
    const json = cadre(['db', 'migrate', '--database-url', target, '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ current: 8, applied: [] });
  });

  it.skipIf(!url)('takes the database from CADRE_DATABASE_URL and says what it applied', async () => {
    const { url: target } = await inFreshSchema();
    const out = cadre(['db', 'migrate'], { CADRE_DATABASE_URL: target });
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(out.stdout).toBe(
      'migrated to version 8 (applied: 1 runs and events, 2 step and tool-call journals, 3 task outcomes, 4 run fences, 5 API keys and threads, 6 tool audit log, 7 run owners, 8 queue records)\n',
    );
  });

  it('exits 2 with config_invalid when no database URL is given', () => {
    const out = cadre(['db', 'migrate', '--json']);
    expect(out.status).toBe(2);
    expect(JSON.parse(out.stdout)).toMatchObject({ type: 'error', code: 'config_invalid' });
    expect(out.stderr).toMatch(/config_invalid: .*set CADRE_DATABASE_URL or pass --database-url/);
  });

  it('exits 1 with store_failed when the server does not answer, without printing the password', () => {
    const out = cadre(['db', 'migrate', '--database-url', 'postgres://cadre:s3cr3t-pw@127.0.0.1:1/x']);
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/store_failed: Cannot connect to PostgreSQL at 127\.0\.0\.1:1\/x/);
    expect(out.stdout + out.stderr).not.toContain('s3cr3t-pw');
  });
});
