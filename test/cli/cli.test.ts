import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
// No model is reachable: Ollama is pointed at a closed port and no cloud keys are set.
const offlineEnv = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  OLLAMA_HOST: '127.0.0.1:2',
  NO_COLOR: '1',
};
let dataDir = '';
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'cadre-cli-'));
});

const envFor = (env: Record<string, string>) => ({ ...offlineEnv, CADRE_DATA_DIR: dataDir, ...env });

function cadre(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    env: envFor(env),
    encoding: 'utf8',
    timeout: 110_000,
  });
}

const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; seq: number; [key: string]: unknown });

// Each test starts one or more CLI processes (about 1.5 s each on an idle machine).
describe('cadre CLI', { timeout: 120_000 }, () => {
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

  it('runs the demo from any folder, as an installed package would: the folder it lists is the current one', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'cadre-elsewhere-'));
    writeFileSync(join(elsewhere, 'notes.txt'), 'hello');
    const tsx = join(root, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
    const out = spawnSync(process.execPath, ['--import', tsx, join(root, 'src/cli/main.ts'), 'demo', '--json'], {
      cwd: elsewhere,
      env: envFor({}),
      encoding: 'utf8',
      timeout: 110_000,
    });
    expect(out.status).toBe(0);
    const events = jsonLines(out.stdout);
    const listed = events.find((e) => e.type === 'tool.result' && e.tool === 'list_dir');
    expect(listed).toMatchObject({ ok: true });
    expect(String(listed!.output)).toContain('notes.txt');
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'completed' });
  });

  it('runs the demo through the planner: parallel tasks, several roles, tool calls, a recovered failure, the task table', () => {
    const out = cadre(['demo']);
    expect(out.status).toBe(0);
    expect(out.stderr).toMatch(/No model reachable.*scripted models from cadre\/testing/s);
    expect(out.stdout).toMatch(/plan \(tasks with the same number run in parallel\)/);
    // Routing: planning goes to the strong model, the coder's task to the small one, each with its reason.
    expect(out.stdout).toMatch(/\[plan\] model scripted-large for plan; rules: plan-with-the-strongest/);
    expect(out.stdout).toMatch(/\[compute-1\] model scripted-small for code/);
    expect(out.stdout).toMatch(/models\n +scripted-large +\d+ calls[\s\S]*scripted-small +\d+ calls/);
    expect(out.stdout.match(/^ {3}1 {2}/gm)?.length).toBeGreaterThanOrEqual(2);
    expect(out.stdout).toMatch(/calculator/);
    expect(out.stdout).toMatch(/attempt 1 failed its check/);
    expect(out.stdout).toMatch(/compute-1 +coder +completed +2 /);
    for (const role of ['coder', 'researcher', 'critic', 'writer'])
      expect(out.stdout).toMatch(new RegExp(`\\b${role}\\b`));
    expect(out.stdout).toMatch(/answer\n[\s\S]*433/);
    expect(out.stdout).toMatch(/completed · \d+ model calls/);
    // Memory: a later task is shown the lesson an earlier task learned, and the plan is kept.
    expect(out.stdout).toMatch(/check-1 recalled \d+ items? from memory\n\s+Lesson from "Work out/);
    expect(out.stdout).toMatch(/the plan is saved for similar goals/);
  });

  it("streams the final task's answer onto the screen as it is written, and does not repeat it at the end", () => {
    const out = cadre(['demo']);
    expect(out.status).toBe(0);
    const finalAnswer = /\n✓ write-up /.exec(out.stdout);
    expect(finalAnswer).not.toBeNull();
    // The answer is on screen before the final task is reported done: it arrived in pieces, not with the result.
    const streamed = /answer\n(Here is the briefing:[\s\S]*?)\n✓ write-up /.exec(out.stdout);
    expect(streamed?.[1]).toMatch(/the calculation gives 433[\s\S]*the current time is/);
    expect(out.stdout.indexOf(streamed![1]!)).toBeLessThan(finalAnswer!.index);
    expect(out.stdout.slice(out.stdout.indexOf('\ntasks\n'))).not.toMatch(/Here is the briefing|^answer$/m);
    expect(out.stdout).toMatch(/completed · \d+ model calls/);
  });

  it('adds model.delta lines to --json only with --stream; they spell out each stored model.response', () => {
    const out = cadre(['demo', '--json', '--stream']);
    expect(out.status).toBe(0);
    const lines = jsonLines(out.stdout);
    const stored = lines.filter((e) => e.type !== 'model.delta');
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    const deltas = lines.filter((e) => e.type === 'model.delta');
    const final = lines.find((e) => e.type === 'model.response' && e.taskId === 'write-up')!;
    const text = deltas
      .filter((d) => d.taskId === 'write-up' && d.step === final.step)
      .map((d) => String(d.text ?? ''))
      .join('');
    expect(text).toBe(final.content);
    expect(text).toMatch(/the calculation gives 433/);
    // Each delta sits after the stored event it follows, and before the response it builds.
    expect(lines.indexOf(deltas.at(-1)!)).toBeLessThan(lines.lastIndexOf(final));
  });

  it('remembers across runs: the second demo reuses the plan and gets it right first time; `memory` commands inspect it', () => {
    expect(cadre(['demo']).status).toBe(0);
    const again = cadre(['demo']);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/plan \(reused: it worked for the same goal before\)/);
    expect(again.stdout).toMatch(/compute-1 +coder +completed +1 /);
    const search = cadre(['memory', 'search', 'work out 17 * 23 plus sqrt 1764']);
    expect(search.status).toBe(0);
    expect(search.stdout).toMatch(/\[episodic · run_\w+\/compute-1 · [\d-]+\] Lesson from/);
    const stats = JSON.parse(cadre(['memory', 'stats', '--json']).stdout) as Record<string, number | string>;
    expect(stats).toMatchObject({ procedures: 1, embedder: 'hashing-384' });
    expect(Number(stats.vectors)).toBeGreaterThanOrEqual(5);
    expect(cadre(['memory', 'graph', 'Alice']).stdout).toMatch(/no facts about Alice/);
  });

  it('prints machine-readable JSON lines with --json, and `runs` / `events` read them back', () => {
    const out = cadre(['demo', '--json']);
    expect(out.status).toBe(0);
    const events = jsonLines(out.stdout);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'completed' });
    expect(events.filter((e) => e.type === 'tool.result').length).toBeGreaterThanOrEqual(3);
    const runId = String(events[0]!.runId);

    const runs = jsonLines(cadre(['runs', '--json']).stdout);
    expect(runs).toEqual([expect.objectContaining({ id: runId, status: 'completed' })]);
    const replayed = jsonLines(cadre(['events', runId, '--from', '5']).stdout);
    expect(replayed).toEqual(events.slice(4));
    expect(cadre(['events', 'run_nope']).status).toBe(2);
  });

  it('stops at the approval gate without a terminal, and `resume --approve` runs the approved plan', () => {
    const first = cadre(['run', 'List the files in `examples`.', '--scripted', '--approve-plan']);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/waiting for approval: cadre resume (run_\w+) --approve/);
    const runId = /cadre resume (run_\w+)/.exec(first.stdout)![1]!;
    expect(jsonLines(cadre(['runs', '--json']).stdout)[0]).toMatchObject({ id: runId, status: 'awaiting_approval' });
    const second = cadre(['resume', runId, '--approve']);
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/approval approved/);
    expect(second.stdout).toMatch(/completed · /);
    expect(second.stdout).not.toMatch(/^plan /m); // the plan is read back from the checkpoint, not made again
  });

  it('drains on SIGTERM into a resumable run, and `resume` finishes it without redoing finished tasks', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--json'], {
      cwd: root,
      env: envFor({}),
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/"type":"task.completed"/.test(stdout) && !child.killed) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    const before = jsonLines(stdout);
    expect(before.at(-1)).toMatchObject({ type: 'run.completed', status: 'cancelled' });
    const runId = String(before[0]!.runId);
    const finished = before.filter((e) => e.type === 'task.completed').map((e) => e.taskId);
    expect(finished.length).toBeGreaterThan(0);

    const resumed = cadre(['resume', runId, '--json']);
    expect(resumed.status).toBe(0);
    const after = jsonLines(resumed.stdout);
    // The resumed run's events come after every seq the first process used (seqs are reserved in blocks).
    expect(after[0]).toMatchObject({ type: 'run.resumed' });
    expect(after[0]!.seq).toBeGreaterThan(Math.max(...before.map((e) => e.seq)));
    expect(after.at(-1)).toMatchObject({ type: 'run.completed', status: 'completed' });
    const startedAgain = after.filter((e) => e.type === 'task.started').map((e) => e.taskId);
    for (const id of finished) expect(startedAgain).not.toContain(id);
  });

  it('exits 2 with the fix when `run` has no model and --scripted is not given; with --json, stdout holds a JSON error', () => {
    const out = cadre(['run', 'hello']);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/model_unavailable: No model reachable.*--scripted or run `cadre demo`/);
    const json = cadre(['run', 'hello', '--json']);
    expect(json.status).toBe(2);
    expect(JSON.parse(json.stdout.trim())).toMatchObject({ type: 'error', code: 'model_unavailable', kind: 'user' });
  });

  it('bin/cadre.js (what `npx cadre` runs) works in a checkout whether or not it was built', () => {
    // In CI the tests run before `npm run build`: there, this is the unbuilt path through tsx.
    const out = spawnSync(process.execPath, [join(root, 'bin/cadre.js'), 'jobs', 'list', '--json'], {
      cwd: root,
      env: envFor({}),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual([]);
  });

  it('prints its version with --version and -V', () => {
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-V']) {
      const out = cadre([flag]);
      expect(out.status).toBe(0);
      expect(out.stdout.trim()).toBe(version);
    }
  });
});
