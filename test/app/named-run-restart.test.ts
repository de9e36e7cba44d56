import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadApp, openCadreStore, resumeNamed } from 'cadre';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtureApp = join(root, 'test/fixtures/cadre-app.ts');
type Line = { type: string; taskId?: string; status?: string };

/** Runs a command under tsx; `killAfter` kills it with SIGKILL once that many tasks completed. */
function tsx(
  args: string[],
  env: Record<string, string>,
  killAfter?: number,
): Promise<{ lines: Line[]; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env: { ...process.env, ...env } });
    let buffer = '';
    let stderr = '';
    const lines: Line[] = [];
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const part of parts) lines.push(JSON.parse(part) as Line);
      if (killAfter !== undefined && lines.filter((l) => l.type === 'task.completed').length >= killAfter)
        child.kill('SIGKILL');
    });
    child.on('close', (_code, signal) => resolve({ lines, signal, stderr }));
  });
}

describe('a run started by name, in a new process', () => {
  it('resumes after kill -9 from the registry alone: no options passed, no finished task runs again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadre-named-'));
    const databasePath = join(dir, 'cadre.db');
    const workLog = join(dir, 'work.log');
    const env = { CADRE_TEST_LATENCY_MS: '40', CADRE_TEST_WORK_LOG: workLog };
    const killed = await tsx(['test/fixtures/named-run.ts', databasePath, 'chain', 'run_named_kill'], env, 2);
    expect(killed.signal).toBe('SIGKILL');
    const finished = killed.lines.filter((l) => l.type === 'task.completed').map((l) => l.taskId);
    expect(finished.length).toBeGreaterThanOrEqual(2);
    const record = openCadreStore({ path: databasePath }).runs.get('run_named_kill')!;
    expect(record.status).toBe('interrupted');
    expect(record.settings!.app).toEqual({ team: 'chain' });

    process.env.CADRE_TEST_WORK_LOG = workLog;
    try {
      const app = await loadApp({ path: fixtureApp });
      const handle = await resumeNamed('run_named_kill', { app, config: { databasePath } });
      const result = await handle.result;
      expect(result.status).toBe('completed');
      expect(result.tasks.map((t) => t.taskId)).toEqual(['t1', 't2', 't3', 't4', 't5', 't6']);
    } finally {
      delete process.env.CADRE_TEST_WORK_LOG;
    }
    const work = readFileSync(workLog, 'utf8').trim().split('\n');
    for (const id of finished)
      expect(
        work.filter((w) => w === id),
        `${id} ran again`,
      ).toHaveLength(1);
    expect(new Set(work)).toEqual(new Set(['t1', 't2', 't3', 't4', 't5', 't6']));
  }, 60_000);

  it('cadre resume <id> --approve answers a run waiting at its plan gate, rebuilding the team by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadre-named-'));
    const databasePath = join(dir, 'cadre.db');
    const started = await tsx(['test/fixtures/named-run.ts', databasePath, 'gated', 'run_named_gate'], {});
    expect(started.lines.at(-1)).toEqual({ type: 'result', status: 'awaiting_approval' });
    const resumed = await tsx(
      ['src/cli/main.ts', 'resume', 'run_named_gate', '--approve', '--json', '--app', fixtureApp],
      { CADRE_DATABASE_PATH: databasePath },
    );
    expect(resumed.stderr).toBe('');
    const done = resumed.lines.find((l) => l.type === 'run.completed');
    expect(done?.status).toBe('completed');
    expect(resumed.lines.filter((l) => l.type === 'task.completed').map((l) => l.taskId)).toEqual(['t1', 't2', 't3']);
  }, 60_000);
});
