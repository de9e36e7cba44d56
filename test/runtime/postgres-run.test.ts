import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { CadreError, closePostgresRuns, resume, run, type CadreEvent, type RunHandle } from 'cadre';
import { StaticPlanner } from 'cadre/planners';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';
import { postgresSchemas, withOsUser } from '../fixtures/postgres-url.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

const url = process.env.CADRE_DATABASE_URL;
if (!url)
  process.stdout.write(
    'PostgreSQL run() tests skipped: set CADRE_DATABASE_URL (e.g. postgres://127.0.0.1:5432/test)\n',
  );

// Every test has a schema of its own, so parallel test files and CI runs never meet; all are dropped at the end.
const schemas = postgresSchemas(url);
const freshSchema = schemas.fresh;
const sql = schemas.sql;

beforeAll(schemas.open);
afterAll(async () => {
  await closePostgresRuns();
  await schemas.close();
});

/** The run's stored events, in seq order. */
const storedEvents = async (schema: string, runId: string) =>
  (
    await sql<{ seq: number; type: string; body: string }>(
      `SELECT seq, type, body FROM ${schema}.cadre_events WHERE run_id = $1 ORDER BY seq`,
      [runId],
    )
  ).map((row) => ({ seq: row.seq, type: row.type, event: JSON.parse(row.body) as CadreEvent }));
const storedRun = async (schema: string, runId: string) =>
  (await sql<{ id: string; status: string }>(`SELECT * FROM ${schema}.cadre_runs WHERE id = $1`, [runId]))[0];

const rejectsWith = async (promise: Promise<unknown>, code: string) => {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(CadreError.isInstance(error), `expected a CadreError, got ${String(error)}`).toBe(true);
  expect((error as CadreError).code).toBe(code);
  return error as CadreError;
};

const seqsAndTypes = (events: readonly CadreEvent[]) => events.map((e) => ({ seq: e.seq, type: e.type }));
const collect = async (handle: RunHandle) => {
  const events: CadreEvent[] = [];
  for await (const event of handle.events()) events.push(event);
  return events;
};

type Task = { id: string; dependsOn?: string[] };

/**
 * A team whose tasks each save a file named after the task through a write tool, then answer
 * `finished <id>`. `writes` lists every real write, in order, so a write done twice shows.
 */
function team(tasks: Task[], latencyMs = 0) {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-pg-run-'));
  const writes: string[] = [];
  const saveFile = defineTool({
    name: 'save_file',
    description: 'Saves a file in the work folder.',
    input: z.object({ name: z.string(), content: z.string() }),
    effects: 'write',
    run: ({ name, content }) => {
      writes.push(name);
      writeFileSync(join(dir, name), content);
      return `saved ${name}`;
    },
  });
  const model = new ScriptedChatModel({
    latencyMs,
    respond: ({ task, toolResults, messages }) => {
      const id = /^do (\S+)/m.exec(task.split('## Task\n').at(-1) ?? task)?.[1] ?? 'x';
      if (toolResults.length === 0 && !messages.some((m) => m.getType() === 'tool'))
        return { toolCalls: [{ name: 'save_file', args: { name: `${id}.txt`, content: `output of ${id}` } }] };
      return `finished ${id}`;
    },
  });
  const graph = {
    goal: 'write the files',
    tasks: tasks.map(({ id, dependsOn = [] }) => ({
      id,
      title: `task ${id}`,
      instruction: `do ${id}`,
      role: 'worker',
      dependsOn,
    })),
  };
  const options = {
    roles: [
      {
        name: 'worker',
        description: 'writes files',
        agent: { name: 'worker', instructions: 'Save the file the task names.', tools: [saveFile] },
      },
    ],
    planner: new StaticPlanner(graph),
    model,
  };
  return { dir, writes, goal: graph.goal, options, read: (name: string) => readFileSync(join(dir, name), 'utf8') };
}

/** A run kept on PostgreSQL in `schema`; the tool audit log stays in a SQLite file of the team's folder. */
const onPostgres = (schema: string, dir: string) => ({
  runStore: 'postgres' as const,
  databaseUrl: url!,
  databaseSchema: schema,
  databasePath: join(dir, 'cadre.db'),
  ollamaHost: 'http://127.0.0.1:2',
  concurrency: 1,
});

const abc: Task[] = [{ id: 'a' }, { id: 'b' }, { id: 'c', dependsOn: ['a', 'b'] }];

describe.skipIf(!url)('run() on PostgreSQL', () => {
  it('runs a team to completion: every stored event reaches on("*") from seq 1, and cadre_events holds exactly those', async () => {
    const schema = freshSchema();
    const { dir, writes, goal, options, read } = team(abc);
    const handle = run({ goal, ...options, config: onPostgres(schema, dir) });
    const heard: CadreEvent[] = [];
    handle.on('*', (event) => heard.push(event));
    const result = await handle.result;

    expect(result.status).toBe('completed');
    expect(result.answer).toBe('finished c');
    expect(result.tasks.map((t) => [t.taskId, t.status])).toEqual([
      ['a', 'completed'],
      ['b', 'completed'],
      ['c', 'completed'],
    ]);
    expect(result.trace.length).toBeGreaterThan(0);
    expect(result.trace.filter((s) => s.kind === 'tool')).toHaveLength(3);
    expect(writes.sort()).toEqual(['a.txt', 'b.txt', 'c.txt']);
    expect(read('c.txt')).toBe('output of c');

    // Heard live: from run.started (seq 1) to run.completed, one seq after another.
    expect(heard[0]).toMatchObject({ type: 'run.started', seq: 1, runId: handle.runId });
    expect(heard.at(-1)).toMatchObject({ type: 'run.completed', status: 'completed', answer: 'finished c' });
    expect(heard.map((e) => e.seq)).toEqual(heard.map((_, i) => i + 1));
    expect(heard.filter((e) => e.type === 'task.completed')).toHaveLength(3);

    // Stored: exactly the events heard, the same seqs, types and bodies, in order.
    const stored = await storedEvents(schema, handle.runId);
    expect(stored.map(({ seq, type }) => ({ seq, type }))).toEqual(seqsAndTypes(heard));
    expect(stored.map((row) => row.event)).toEqual(heard);

    const record = await storedRun(schema, handle.runId);
    expect(record).toMatchObject({ id: handle.runId, goal, status: 'completed' });
    expect(record).toHaveProperty('result.answer', 'finished c');

    // Iterated after the run: the same sequence again.
    expect(seqsAndTypes(await collect(handle))).toEqual(seqsAndTypes(heard));

    // Each tool call audited in PostgreSQL, none in the machine's own file; `cadre audit` reads them there.
    const audited = await sql<{ tool: string; decision: string; args_redacted: string }>(
      `SELECT tool, decision, args_redacted FROM ${schema}.cadre_tool_audit WHERE run_id = $1 ORDER BY id`,
      [handle.runId],
    );
    expect(audited.map((row) => [row.tool, row.decision])).toEqual([
      ['save_file', 'allowed'],
      ['save_file', 'allowed'],
      ['save_file', 'allowed'],
    ]);
    expect(audited.map((row) => (JSON.parse(row.args_redacted) as { name: string }).name).sort()).toEqual([
      'a.txt',
      'b.txt',
      'c.txt',
    ]);
    const file = new Database(join(dir, 'cadre.db'), { readonly: true });
    const localAudit = file.prepare("SELECT name FROM sqlite_master WHERE name = 'tool_audit'").get()
      ? file.prepare('SELECT COUNT(*) AS n FROM tool_audit').get()
      : { n: 0 };
    file.close();
    expect(localAudit).toEqual({ n: 0 });
    const cli = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'audit', '--run', handle.runId, '--json'],
      {
        cwd: root,
        encoding: 'utf8',
        env: {
          ...process.env,
          CADRE_RUN_STORE: 'postgres',
          CADRE_DATABASE_URL: url!,
          CADRE_DATABASE_SCHEMA: schema,
          CADRE_DATABASE_PATH: join(dir, 'cadre.db'),
        },
      },
    );
    expect(cli.status, cli.stderr).toBe(0);
    const listed = cli.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { tool: string; runId: string });
    expect(listed.map((r) => [r.tool, r.runId])).toEqual(audited.map(() => ['save_file', handle.runId]));
  });

  it("moves a run's state only once the events emitted before it are stored: no step is written while its events wait", async () => {
    const schema = freshSchema();
    const first = team([{ id: 'a' }]);
    // A first run makes the tables.
    expect(
      (await run({ goal: first.goal, ...first.options, config: onPostgres(schema, first.dir) }).result).status,
    ).toBe('completed');
    const { dir, goal, options } = team([{ id: 'b' }]);
    const lock = new pg.Client({ connectionString: withOsUser(url!) });
    await lock.connect();
    await lock.query('BEGIN');
    // Inserts into the event table wait; reads and every other table go on.
    await lock.query(`LOCK TABLE ${schema}.cadre_events IN EXCLUSIVE MODE`);
    const handle = run({ goal, ...options, config: onPostgres(schema, dir) });
    await handle.started;
    await new Promise((resolve) => setTimeout(resolve, 600));
    const count = async (table: string) =>
      (
        await sql<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${schema}.${table} WHERE run_id = $1`, [handle.runId])
      )[0]!.n;
    try {
      // The seq reservation went ahead (another table); the events, and so the steps, wait.
      expect(await count('cadre_event_seq')).toBe(1);
      expect(await count('cadre_steps')).toBe(0);
      expect(await count('cadre_task_outcomes')).toBe(0);
    } finally {
      await lock.query('ROLLBACK');
      await lock.end();
    }
    expect((await handle.result).status).toBe('completed');
    expect(await count('cadre_steps')).toBeGreaterThan(0);
    expect(await count('cadre_events')).toBeGreaterThan(0);
  });

  it('stops for plan approval with checkpoints in the schema, and resume() with approve completes it, each file written once', async () => {
    const schema = freshSchema();
    const { dir, writes, goal, options } = team(abc);
    const config = onPostgres(schema, dir);
    const waiting = await run({ goal, ...options, config, approvePlan: true }).result;
    expect(waiting.status).toBe('awaiting_approval');
    expect(waiting.approval?.kind === 'plan_approval' && waiting.approval.graph.tasks.map((t) => t.id)).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(writes).toEqual([]);
    expect(await storedRun(schema, waiting.runId)).toMatchObject({ status: 'awaiting_approval' });
    const [{ n }] = (await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${schema}.checkpoints WHERE thread_id = $1`,
      [waiting.runId],
    )) as [{ n: number }];
    expect(n).toBeGreaterThan(0);

    const resumed = resume(waiting.runId, { ...options, config, decision: { action: 'approve' } });
    const done = await resumed.result;
    expect(done.status).toBe('completed');
    expect(done.answer).toBe('finished c');
    expect(writes.sort()).toEqual(['a.txt', 'b.txt', 'c.txt']);
    expect(await storedRun(schema, waiting.runId)).toMatchObject({ status: 'completed' });

    // The resumed events follow the first execution's in the same table, seqs only rising.
    const stored = await storedEvents(schema, waiting.runId);
    const seqs = stored.map((row) => row.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(stored.map((row) => row.type)).toEqual(expect.arrayContaining(['run.started', 'run.resumed']));
    expect(stored.filter((row) => row.type === 'task.completed')).toHaveLength(3);
  });

  it('refuses through result: an existing caller-given runId (input_invalid, the stored run unchanged), unknown and completed runs', async () => {
    const schema = freshSchema();
    const { dir, goal, options } = team([{ id: 'a' }]);
    const config = onPostgres(schema, dir);
    const runId = `run_given_${randomBytes(4).toString('hex')}`;
    const first = await run({ goal, runId, ...options, config }).result;
    expect(first).toMatchObject({ runId, status: 'completed' });
    const snapshot = async () => ({
      run: await storedRun(schema, runId),
      events: await storedEvents(schema, runId),
      seq: await sql(`SELECT * FROM ${schema}.cadre_event_seq WHERE run_id = $1`, [runId]),
    });
    const before = await snapshot();

    // Returned at once, refused through result.
    let again: RunHandle | undefined;
    expect(() => (again = run({ goal: 'another goal', runId, ...options, config }))).not.toThrow();
    expect(again!.runId).toBe(runId);
    const taken = await rejectsWith(again!.result, 'input_invalid');
    expect(taken.message).toMatch(/already exists/);
    // events() of a refused handle gives the same refusal.
    await rejectsWith(collect(again!), 'input_invalid');
    expect(await snapshot()).toEqual(before);

    const unknown = resume('run_no_such_run', { ...options, config });
    await rejectsWith(unknown.result, 'run_not_found');
    expect(await storedRun(schema, 'run_no_such_run')).toBeUndefined();

    const ended = await rejectsWith(resume(runId, { ...options, config }).result, 'input_invalid');
    expect(ended.message).toMatch(/already ended \(completed\)/);
    expect(await snapshot()).toEqual(before);
  });

  it('does not crash the process when a refused handle is never awaited (no unhandledRejection)', async () => {
    const schema = freshSchema();
    const { dir, goal, options } = team([{ id: 'a' }]);
    const config = onPostgres(schema, dir);
    const runId = `run_given_${randomBytes(4).toString('hex')}`;
    await run({ goal, runId, ...options, config }).result;

    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // Neither result nor events() of these is ever read.
      run({ goal, runId, ...options, config });
      resume('run_no_such_run', { ...options, config });
      resume(runId, { ...options, config });
      const ignored = run({ goal, runId, ...options, config });
      ignored.on('*', () => undefined);
      // The same refusals awaited: by then the ignored ones have been refused too.
      await rejectsWith(run({ goal, runId, ...options, config }).result, 'input_invalid');
      await rejectsWith(resume('run_no_such_run', { ...options, config }).result, 'run_not_found');
      await rejectsWith(resume(runId, { ...options, config }).result, 'input_invalid');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('resumes a run cancelled after its first task: that task does not run again, events continue past every stored seq', async () => {
    const schema = freshSchema();
    const chain: Task[] = [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: ['b'] }];
    const { dir, writes, goal, options } = team(chain, 30);
    const config = onPostgres(schema, dir);
    const handle = run({ goal, ...options, config });
    const firstRun: CadreEvent[] = [];
    handle.on('*', (event) => firstRun.push(event));
    handle.on('task.completed', () => handle.cancel('stop after the first task'));
    const cancelled = await handle.result;
    expect(cancelled.status).toBe('cancelled');
    expect(firstRun.at(-1)).toMatchObject({ type: 'run.completed', status: 'cancelled' });
    expect(await storedRun(schema, handle.runId)).toMatchObject({ status: 'cancelled' });
    const finished = firstRun.filter((e) => e.type === 'task.completed').map((e) => e.taskId);
    expect(finished).toEqual(['a']);
    const storedBefore = await storedEvents(schema, handle.runId);
    expect(storedBefore.map(({ seq, type }) => ({ seq, type }))).toEqual(seqsAndTypes(firstRun));
    const lastBefore = Math.max(...storedBefore.map((row) => row.seq));

    const resumed = resume(handle.runId, { ...options, config });
    const secondRun: CadreEvent[] = [];
    resumed.on('*', (event) => secondRun.push(event));
    const done = await resumed.result;
    expect(done.status).toBe('completed');
    expect(done.answer).toBe('finished c');
    expect(done.tasks.map((t) => [t.taskId, t.status])).toEqual([
      ['a', 'completed'],
      ['b', 'completed'],
      ['c', 'completed'],
    ]);

    expect(secondRun[0]).toMatchObject({ type: 'run.resumed' });
    expect(secondRun[0]!.seq).toBeGreaterThan(lastBefore);
    const seqs = secondRun.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => secondRun[0]!.seq + i));
    const startedAfter = secondRun.filter((e) => e.type === 'task.started').map((e) => e.taskId);
    for (const id of finished) expect(startedAfter).not.toContain(id);
    expect(startedAfter).toContain('c');
    expect(writes.filter((name) => name === 'a.txt')).toEqual(['a.txt']);
    expect(new Set(writes).size).toBe(writes.length);
    expect(await storedRun(schema, handle.runId)).toMatchObject({ status: 'completed' });

    // Stored: the first execution's events, then the resumed one's, nothing else.
    const storedAll = await storedEvents(schema, handle.runId);
    expect(storedAll.map(({ seq, type }) => ({ seq, type }))).toEqual(seqsAndTypes([...firstRun, ...secondRun]));
    // The resumed handle's events() reads the earlier execution's back from the table.
    expect(seqsAndTypes(await collect(resumed))).toEqual(seqsAndTypes([...firstRun, ...secondRun]));
  });
});

describe.skipIf(!url)('closePostgresRuns()', () => {
  it("closes every connection the runs opened, the workflow checkpointer's too", async () => {
    const schema = freshSchema();
    // Its own application_name tells this test's connections from any other's.
    const named = new URL(url!);
    named.searchParams.set('application_name', schema);
    const connections = async () =>
      (
        await sql<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
          schema,
        ])
      )[0]!.n;
    const { dir, goal, options } = team([{ id: 'a' }]);
    const config = { ...onPostgres(schema, dir), databaseUrl: named.href };
    expect((await run({ goal, ...options, config }).result).status).toBe('completed');
    // A run on the workflow engine also opens LangGraph's checkpointer on the same database.
    expect((await run({ goal, ...options, config, approvePlan: true }).result).status).toBe('awaiting_approval');
    expect(await connections()).toBeGreaterThan(0);

    await closePostgresRuns();
    // The server sees a closed connection go within moments; pg's idle timeout would take 10 s.
    await vi.waitFor(async () => expect(await connections()).toBe(0), { timeout: 3000, interval: 100 });
  });
});

// Refused before any server is asked: needs no PostgreSQL.
describe('run() on PostgreSQL without a databaseUrl', () => {
  it('returns the handle at once and rejects result with config_invalid', async () => {
    vi.stubEnv('CADRE_DATABASE_URL', undefined);
    try {
      const { dir, goal, options } = team([{ id: 'a' }]);
      const config = { runStore: 'postgres' as const, databasePath: join(dir, 'cadre.db') };
      let handle: RunHandle | undefined;
      expect(() => (handle = run({ goal, ...options, config }))).not.toThrow();
      const error = await rejectsWith(handle!.result, 'config_invalid');
      expect(error.message).toMatch(/databaseUrl/);
      await rejectsWith(resume('run_any', { ...options, config }).result, 'config_invalid');
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
