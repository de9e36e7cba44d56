import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
// No model is reachable: Ollama is pointed at a closed port and no cloud keys are set.
const offlineEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', OLLAMA_HOST: '127.0.0.1:2', NO_COLOR: '1' };

function cadre(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    env: { ...offlineEnv, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('cadre CLI', () => {
  it('exits 2 naming the field when a config value is bad', () => {
    const out = cadre(['run', 'anything'], { CADRE_MAX_STEPS: 'abc' });
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/config_invalid/);
    expect(out.stderr).toMatch(/maxSteps \(from CADRE_MAX_STEPS\)/);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 on a bad flag value', () => {
    const out = cadre(['run', 'x', '--max-steps', 'ten']);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/max-steps/);
  });

  it('runs the demo on the scripted model, says so, and shows tool calls and the answer', () => {
    const out = cadre(['demo']);
    expect(out.status).toBe(0);
    expect(out.stderr).toMatch(/No model reachable.*scripted model from cadre\/testing/s);
    expect(out.stdout).toMatch(/calculator/);
    expect(out.stdout).toMatch(/433/);
    expect(out.stdout).toMatch(/answer/);
    expect(out.stdout).toMatch(/completed · 2 steps/);
  });

  it('prints machine-readable JSON lines with --json', () => {
    const out = cadre(['demo', '--json']);
    expect(out.status).toBe(0);
    const events = out.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; seq: number });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'completed' });
    expect(events.filter((e) => e.type === 'tool.result').length).toBeGreaterThanOrEqual(3);
  });

  it('fails cleanly with exit 1 when `run` has no model and --scripted is not given', () => {
    const out = cadre(['run', 'hello']);
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/model_unavailable/);
  });
});
