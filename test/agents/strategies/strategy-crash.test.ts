import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkGame24 } from 'cadre/testing';

const root = fileURLToPath(new URL('../../../', import.meta.url));
type Line = { type: string; replayed?: boolean; status?: string; answer?: string };

/** Runs the fixture in its own process; `killAfter` kills it with SIGKILL after that many new model replies. */
function fixture(mode: 'run' | 'resume', dir: string, runId: string, killAfter?: number, strategy = 'tot') {
  return new Promise<{ lines: Line[]; signal: NodeJS.Signals | null }>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/strategy-crash-run.ts', mode, dir, runId, strategy],
      {
        cwd: root,
        env: { ...process.env },
      },
    );
    let buffer = '';
    const lines: Line[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const part of parts) lines.push(JSON.parse(part) as Line);
      if (killAfter !== undefined && fresh(lines) >= killAfter) child.kill('SIGKILL');
    });
    child.on('close', (_code, signal) => resolve({ lines, signal }));
  });
}

const fresh = (lines: Line[]) => lines.filter((l) => l.type === 'model.response' && !l.replayed).length;
const replayed = (lines: Line[]) => lines.filter((l) => l.type === 'model.response' && l.replayed).length;

describe('a strategy after kill -9', () => {
  it('treeOfThoughts resumes in a new process without asking the model again for any reply recorded before the kill', async () => {
    const reference = await fixture('run', mkdtempSync(join(tmpdir(), 'cadre-tot-clean-')), 'run_tot_reference');
    const expected = reference.lines.at(-1)!;
    expect(expected).toMatchObject({ type: 'result', status: 'completed' });
    expect(checkGame24(expected.answer!, [4, 9, 10, 13])).toBe(true);
    const total = fresh(reference.lines);
    expect(total).toBeGreaterThan(20);

    const dir = mkdtempSync(join(tmpdir(), 'cadre-tot-crash-'));
    const killed = await fixture('run', dir, 'run_tot_crash', 12);
    expect(killed.signal).toBe('SIGKILL');
    const before = fresh(killed.lines);
    expect(before).toBeLessThan(total);

    const resumed = await fixture('resume', dir, 'run_tot_crash');
    expect(resumed.lines.at(-1)).toMatchObject({ type: 'result', status: 'completed', answer: expected.answer });
    // The resumed stream starts with the first process's events; count the second process's own.
    const after = resumed.lines.slice(resumed.lines.findIndex((l) => l.type === 'run.resumed'));
    expect(after.length).toBeLessThan(resumed.lines.length);
    // Every reply seen before the kill comes back from the journal (and maybe one committed as the
    // process died); between them, the two processes asked exactly what one uninterrupted run asks.
    expect(replayed(after)).toBeGreaterThanOrEqual(before);
    expect(replayed(after) + fresh(after)).toBe(total);
  }, 90_000);

  it('selfConsistency resumes in a new process, replaying every sample recorded before the kill', async () => {
    const reference = await fixture(
      'run',
      mkdtempSync(join(tmpdir(), 'cadre-sc-clean-')),
      'run_sc_reference',
      undefined,
      'sc',
    );
    const expected = reference.lines.at(-1)!;
    expect(expected).toMatchObject({ type: 'result', status: 'completed' });
    const total = fresh(reference.lines);
    expect(total).toBe(9);

    const dir = mkdtempSync(join(tmpdir(), 'cadre-sc-crash-'));
    const killed = await fixture('run', dir, 'run_sc_crash', 4, 'sc');
    expect(killed.signal).toBe('SIGKILL');
    const before = fresh(killed.lines);
    expect(before).toBeLessThan(total);

    const resumed = await fixture('resume', dir, 'run_sc_crash', undefined, 'sc');
    expect(resumed.lines.at(-1)).toMatchObject({ type: 'result', status: 'completed', answer: expected.answer });
    const after = resumed.lines.slice(resumed.lines.findIndex((l) => l.type === 'run.resumed'));
    expect(replayed(after)).toBeGreaterThanOrEqual(before);
    expect(replayed(after) + fresh(after)).toBe(total);
  }, 90_000);
});
