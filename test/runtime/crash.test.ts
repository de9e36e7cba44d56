import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { withOsUser } from '../fixtures/postgres-url.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
type Line = {
  type: string;
  taskId?: string;
  seq?: number;
  status?: string;
  answer?: string;
  error?: { code: string };
  tasks?: unknown;
};

const url = process.env.CADRE_DATABASE_URL;
if (!url)
  process.stdout.write(
    'crash recovery on PostgreSQL skipped: set CADRE_DATABASE_URL (e.g. postgres://127.0.0.1:5432/test)\n',
  );

// The PostgreSQL case keeps its runs in a schema of its own, dropped at the end.
const schemas: string[] = [];
afterAll(async () => {
  if (!url || !schemas.length) return;
  const admin = new pg.Client({ connectionString: withOsUser(url) });
  await admin.connect();
  try {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await admin.end();
  }
});

/** Where the fixture's processes keep the run: the env they get besides this process's own. */
interface Store {
  name: string;
  postgres: boolean;
  env(): NodeJS.ProcessEnv;
}
const stores: Store[] = [
  // The fixture's `databasePath` (in the test's folder) holds the run.
  { name: 'SQLite', postgres: false, env: () => ({}) },
  {
    name: 'PostgreSQL',
    postgres: true,
    env: () => {
      schemas.push(`cadre_test_${randomBytes(6).toString('hex')}`);
      return { CADRE_RUN_STORE: 'postgres', CADRE_DATABASE_URL: url, CADRE_DATABASE_SCHEMA: schemas.at(-1) };
    },
  },
];

/** Runs the fixture in its own process; `killAfter` kills it with SIGKILL once that many tasks completed. */
function fixture(
  mode: 'run' | 'resume',
  dir: string,
  runId: string,
  env: NodeJS.ProcessEnv,
  killAfter?: number,
): Promise<{ lines: Line[]; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/crash-run.ts', mode, dir, runId], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    let buffer = '';
    const lines: Line[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const part of parts) lines.push(JSON.parse(part) as Line);
      if (killAfter !== undefined && lines.filter((l) => l.type === 'task.completed').length >= killAfter)
        child.kill('SIGKILL');
    });
    child.on('close', (_code, signal) => resolve({ lines, signal }));
  });
}

const writes = (dir: string) => readFileSync(join(dir, 'writes.log'), 'utf8').trim().split('\n');

describe.each(stores)('crash recovery on $name', (store) => {
  it.skipIf(store.postgres && !url)(
    'resumes after kill -9 in a new process: no finished task runs twice, no write happens twice, same result',
    async () => {
      // Both processes of the killed run, and the reference run, keep their runs in the same place.
      const env = store.env();
      const clean = mkdtempSync(join(tmpdir(), 'cadre-clean-'));
      const reference = await fixture('run', clean, 'run_reference', env);
      const expected = reference.lines.at(-1)!;
      expect(expected).toMatchObject({ type: 'result', status: 'completed' });

      const dir = mkdtempSync(join(tmpdir(), 'cadre-crash-'));
      const killed = await fixture('run', dir, 'run_crash', env, 2);
      expect(killed.signal).toBe('SIGKILL');
      expect(killed.lines.some((l) => l.type === 'run.completed')).toBe(false);
      const finishedBefore = killed.lines.filter((l) => l.type === 'task.completed').map((l) => l.taskId);
      expect(finishedBefore.length).toBeGreaterThanOrEqual(2);

      const resumed = await fixture('resume', dir, 'run_crash', env);
      const result = resumed.lines.at(-1)!;
      expect(result).toMatchObject({
        type: 'result',
        status: 'completed',
        answer: expected.answer,
        tasks: expected.tasks,
      });

      const resumedAt = resumed.lines.find((l) => l.type === 'run.resumed')!;
      expect(resumedAt.seq).toBeGreaterThan(Math.max(...killed.lines.map((l) => l.seq ?? 0)));
      const startedAfter = resumed.lines
        .filter((l) => (l.seq ?? 0) > resumedAt.seq! && l.type === 'task.started')
        .map((l) => l.taskId);
      for (const id of finishedBefore) expect(startedAfter).not.toContain(id);

      const written = writes(dir);
      expect(new Set(written).size).toBe(written.length);
      // A write cut off mid-call is reported, not repeated; every other file is written exactly once.
      const unknown = resumed.lines
        .filter((l) => l.type === 'tool.result' && l.error?.code === 'tool_outcome_unknown')
        .map((l) => `${l.taskId}.txt`);
      expect([...written, ...unknown].sort()).toEqual(writes(clean).sort());

      if (store.postgres) {
        // The run was kept on PostgreSQL: its record ended there, with every event the resumed process gave.
        const schema = env.CADRE_DATABASE_SCHEMA!;
        const admin = new pg.Client({ connectionString: withOsUser(url!) });
        await admin.connect();
        try {
          const runs = await admin.query<{ id: string; status: string }>(
            `SELECT id, status FROM ${schema}.cadre_runs ORDER BY id`,
          );
          expect(runs.rows).toEqual([
            { id: 'run_crash', status: 'completed' },
            { id: 'run_reference', status: 'completed' },
          ]);
          // The resumed process's events() read the killed one's back from the table, then gave its own.
          const stored = await admin.query<{ seq: number; type: string }>(
            `SELECT seq, type FROM ${schema}.cadre_events WHERE run_id = 'run_crash' ORDER BY seq`,
          );
          const emitted = resumed.lines.filter((l) => l.type !== 'result').map((l) => ({ seq: l.seq, type: l.type }));
          expect(stored.rows).toEqual(emitted);
        } finally {
          await admin.end();
        }
      }
    },
    60_000,
  );
});
