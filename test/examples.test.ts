import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const offline = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  OLLAMA_HOST: '127.0.0.1:2',
  CADRE_DATABASE_PATH: ':memory:',
};
const example = (name: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', `examples/${name}`], {
    cwd: root,
    env: offline,
    encoding: 'utf8',
    timeout: 110_000,
  });

// Each test starts one or more CLI processes (about 1.5 s each on an idle machine).
describe('examples run offline on the scripted model', { timeout: 120_000 }, () => {
  it('quickstart answers with the calculator', () => {
    const out = example('quickstart.ts');
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/^tool calculator -> 7006652$/m);
    expect(out.stdout).toMatch(/completed: 1234 × 5678 = 7006652/);
  });

  it('custom-tool runs its own tool: bad arguments come back as tool_args_invalid, then the tool answers from its inventory', () => {
    const out = example('custom-tool.ts');
    expect(out.status).toBe(0);
    // The example prints each tool.result event: what the tool itself returned, not the scripted reply.
    const toolResults = out.stdout.split('\n').filter((line) => /^(ok |err) stock_level: /.test(line));
    expect(toolResults).toEqual([
      expect.stringMatching(/^err stock_level: .*tool_args_invalid/),
      'ok  stock_level: {"product":"apples","units":12}',
      'ok  stock_level: {"product":"pears","units":3}',
    ]);
  });

  it('jobs queues one job under a dedupe key, schedules a daily run, and a worker completes the job', () => {
    const out = example('jobs.ts');
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/the same key again is the same job/);
    expect(out.stdout).toMatch(/fires next at \d{4}-\d\d-\d\dT0[56]:00:00\.000Z \(07:00 in Paris\)/);
    expect(out.stdout).toMatch(/completed: report: orders of 2026-12-05/);
    expect(out.stdout).toMatch(/jobs: 1 completed, 0 queued/);
  });

  it('team runs a plan over three roles, stops, and resumes without redoing finished work', () => {
    const out = example('team.ts');
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/first process: cancelled, finished revenue/);
    expect(out.stdout).toMatch(/note +writer +completed/);
    expect(out.stdout).toMatch(/Result: 14400[\s\S]*Result: 10410/);
  });

  it('routing keeps personal data local, falls back when the local model fails, and reports spend per model', () => {
    const out = example('routing.ts');
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/planning: openai:gpt-4o \(public\)/);
    expect(out.stdout).toMatch(/personal data: ollama:llama3\.1:8b \(sensitive\).*found email/);
    expect(out.stdout).toMatch(/fallback: llama3\.1:8b -> gpt-4o/);
    expect(out.stdout).toMatch(/answered by openai:gpt-4o for \$0\.0060/);
    expect(out.stdout).toMatch(/sensitive run: completed, models used: llama3\.1:8b\n/);
  });

  it('strategies: on a model poor in one go but good at single steps, tree of thoughts solves what cot and self-consistency miss', () => {
    const out = example('strategies.ts');
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/^cot: completed, .* -> wrong, 1 model call$/m);
    expect(out.stdout).toMatch(/^self-consistency \(5\): completed, .* -> wrong, 5 model calls$/m);
    expect(out.stdout).toMatch(/^tree of thoughts \(b=5\): completed, .* -> right, \d+ model calls$/m);
    expect(out.stdout).toMatch(/tree of thoughts \(b=5\): \d+ thoughts kept, \d+ pruned/);
  });

  it('mcp uses the filesystem MCP server under a policy: a destructive move needs approval', () => {
    const out = example('mcp.ts');
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/ok {2}files__read_text_file: buy milk/);
    expect(out.stdout).toMatch(/ok {2}files__move_file: Successfully moved/);
    expect(out.stdout).toMatch(/err files__move_file: .*not approved/);
    expect(out.stdout).toMatch(/summary.txt: 2 things to do/);
  });
});
