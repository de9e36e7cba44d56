import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openCadreStore } from 'cadre';
import { enqueue, openJobQueue } from 'cadre/jobs';
import app from '../fixtures/jobs-app.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const appPath = join(root, 'test/fixtures/jobs-app.ts');

interface WorkerLine {
  type: string;
  jobId?: string;
  reason?: string;
  epoch?: number;
}

/** A `cadre worker --json` process on the test's data folder; its JSON lines are collected as they come. */
function startWorker(dataDir: string, env: Record<string, string>, extra: string[] = []) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'worker',
      '--json',
      '--lease',
      '1000',
      '--app',
      appPath,
      '--data',
      dataDir,
      ...extra,
    ],
    { cwd: root, env: { ...process.env, NO_COLOR: '1', CADRE_DATABASE_PATH: '', ...env } },
  );
  const lines: WorkerLine[] = [];
  let buffer = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    for (const part of parts) if (part.trim()) lines.push(JSON.parse(part) as WorkerLine);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, lines, exited, stderr: () => stderr };
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const signal = (child: ChildProcess, name: NodeJS.Signals) => child.kill(name);

/** Reads the run's stored rows straight from the database file, as another process sees them. */
function stored(databasePath: string, runId: string) {
  const db = new Database(databasePath, { readonly: true });
  try {
    const events = db
      .prepare<[string], { type: string; seq: number }>('SELECT type, seq FROM events WHERE run_id = ? ORDER BY seq')
      .all(runId);
    const outcomes = db
      .prepare<[string], { n: number }>(
        "SELECT COUNT(*) AS n FROM task_outcomes WHERE run_id = ? AND task_id != '#revision'",
      )
      .get(runId)!.n;
    const toolCalls = db
      .prepare<[string], { tool: string; state: string }>('SELECT tool, state FROM tool_calls WHERE run_id = ?')
      .all(runId);
    return { events, outcomes, toolCalls };
  } finally {
    db.close();
  }
}

describe('workers in separate processes', () => {
  it('a worker paused past its lease (SIGSTOP) is refused at its next write once resumed: nothing is done or written twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadre-stale-'));
    const databasePath = join(dir, 'cadre.db');
    const lines = join(dir, 'lines.txt');
    const { job } = await enqueue({ agent: 'append', goal: 'line-1' }, { app, config: { databasePath } });

    // A takes the job, appends its line, then waits in a slow read tool; there it is stopped.
    const a = startWorker(dir, { CADRE_TEST_LINES: lines, CADRE_TEST_WAIT_MS: '2500' });
    await until(() => existsSync(lines) && readFileSync(lines, 'utf8').includes('line-1'), 'worker A to append');
    await until(
      () =>
        stored(databasePath, job.runId).events.some((e) => e.type === 'tool.called' && e.seq > 0) &&
        stored(databasePath, job.runId).toolCalls.some((c) => c.tool === 'append_line' && c.state === 'completed'),
      'the append to be recorded',
    );
    await new Promise((r) => setTimeout(r, 100));
    signal(a.child, 'SIGSTOP');
    try {
      // B finds the lease expired, takes the job with a newer epoch and finishes the run from its journal.
      await new Promise((r) => setTimeout(r, 1300));
      const b = startWorker(dir, { CADRE_TEST_LINES: lines, CADRE_TEST_WAIT_MS: '50' }, ['--until-idle']);
      expect(await b.exited, b.stderr()).toBe(0);
      expect(b.lines.find((l) => l.type === 'job.settled')).toMatchObject({ jobId: job.id, state: 'completed' });
      const before = stored(databasePath, job.runId);
      expect(before.events.filter((e) => e.type === 'run.completed')).toHaveLength(1);

      // A wakes up: its slow tool returns, its next write (or heartbeat) finds the newer lease, and it stops.
      signal(a.child, 'SIGCONT');
      await until(() => a.lines.some((l) => l.type === 'job.lost'), 'worker A to report its lease lost');
      const lost = a.lines.find((l) => l.type === 'job.lost')!;
      expect(lost).toMatchObject({ jobId: job.id, epoch: 1 });
      await new Promise((r) => setTimeout(r, 300));
      const after = stored(databasePath, job.runId);
      expect(after.events).toEqual(before.events);
      expect(after.outcomes).toBe(1);
      expect(readFileSync(lines, 'utf8')).toBe('line-1\n');
      const done = (await openJobQueue({ databasePath }).get(job.id))!;
      expect(done).toMatchObject({ state: 'completed', epoch: 2 });
    } finally {
      signal(a.child, 'SIGCONT');
      signal(a.child, 'SIGKILL');
      await a.exited;
    }
  }, 60_000);

  it('a job whose worker is killed (kill -9) is continued by another worker from its checkpoint once the lease runs out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadre-kill-'));
    const databasePath = join(dir, 'cadre.db');
    const lines = join(dir, 'lines.txt');
    const { job } = await enqueue({ agent: 'append', goal: 'line-k' }, { app, config: { databasePath } });
    const a = startWorker(dir, { CADRE_TEST_LINES: lines, CADRE_TEST_WAIT_MS: '5000' });
    await until(
      () => stored(databasePath, job.runId).toolCalls.some((c) => c.tool === 'append_line' && c.state === 'completed'),
      'the append to be recorded',
    );
    signal(a.child, 'SIGKILL');
    await a.exited;
    const killedAt = Date.now();
    const b = startWorker(dir, { CADRE_TEST_LINES: lines, CADRE_TEST_WAIT_MS: '0' }, ['--until-idle']);
    expect(await b.exited, b.stderr()).toBe(0);
    // B waited for the lease to run out (1 s), no more than a few polls beyond it.
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    const done = (await openJobQueue({ databasePath }).get(job.id))!;
    expect(done).toMatchObject({ state: 'completed', attempts: 2, epoch: 2 });
    expect(readFileSync(lines, 'utf8')).toBe('line-k\n');
    const run = openCadreStore({ path: databasePath }).runs.get(job.runId)!;
    expect(run.status).toBe('completed');
    expect(stored(databasePath, job.runId).events.filter((e) => e.type === 'run.completed')).toHaveLength(1);
  }, 60_000);
});
