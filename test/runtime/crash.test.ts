import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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

/** Runs the fixture in its own process; `killAfter` kills it with SIGKILL once that many tasks completed. */
function fixture(
  mode: 'run' | 'resume',
  dir: string,
  runId: string,
  killAfter?: number,
): Promise<{ lines: Line[]; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/crash-run.ts', mode, dir, runId], {
      cwd: root,
      env: { ...process.env },
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

describe('crash recovery', () => {
  it('resumes after kill -9 in a new process: no finished task runs twice, no write happens twice, same result', async () => {
    const clean = mkdtempSync(join(tmpdir(), 'cadre-clean-'));
    const reference = await fixture('run', clean, 'run_reference');
    const expected = reference.lines.at(-1)!;
    expect(expected).toMatchObject({ type: 'result', status: 'completed' });

    const dir = mkdtempSync(join(tmpdir(), 'cadre-crash-'));
    const killed = await fixture('run', dir, 'run_crash', 2);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.lines.some((l) => l.type === 'run.completed')).toBe(false);
    const finishedBefore = killed.lines.filter((l) => l.type === 'task.completed').map((l) => l.taskId);
    expect(finishedBefore.length).toBeGreaterThanOrEqual(2);

    const resumed = await fixture('resume', dir, 'run_crash');
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
  }, 60_000);
});
