import { mkdir, mkdtemp, readFile, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { CadreError } from 'cadre';
import { builtinTools, createShellTool, type Tool } from 'cadre/tools';
import { hasBwrap } from './has-bwrap.js';
import { inCi } from './mcp/required-here.js';

const ctx = { signal: new AbortController().signal, runId: 'r', taskId: 't', callId: 'c' };
const node = process.execPath;
let base: string;
let root: string;

async function call(tool: Tool, args: Record<string, unknown>): Promise<unknown> {
  return tool.run(tool.input.parse(args), ctx);
}

async function failure(tool: Tool, args: Record<string, unknown>): Promise<CadreError> {
  const error = await call(tool, args).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(CadreError.isInstance(error), `expected ${JSON.stringify(args)} to fail`).toBe(true);
  return error as CadreError;
}

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'cadre-shell-')));
  root = join(base, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
});

// The allowlist and limits hold the same with and without the sandbox.
// Under CI=true both variants run: the sandboxed one fails there when bubblewrap is missing.
describe.each(hasBwrap || inCi ? [false, true] : [false])('run_command (sandbox: %s)', (sandbox) => {
  it('runs an allowed program and returns its output', async () => {
    const tool = createShellTool({ sandbox, root, allow: [node] });
    expect(await call(tool, { command: node, args: ['-e', 'console.log(1 + 1)'] })).toBe('2\n');
    expect(tool.effects).toBe('destructive');
    expect(tool.idempotent).toBe(false);
  });

  it('finds an allowed bare name on PATH', async () => {
    const tool = createShellTool({ sandbox, root, allow: ['ls'] });
    expect(await call(tool, { command: 'ls', args: [], cwd: '.' })).toContain('sub');
  });

  it('refuses a program that is not allowed, by name or by path', async () => {
    const tool = createShellTool({ sandbox, root, allow: ['ls'] });
    expect((await failure(tool, { command: node, args: ['-e', '1'] })).code).toBe('input_invalid');
    expect((await failure(tool, { command: 'env', args: [] })).code).toBe('input_invalid');
  });

  it('rejects a command with spaces or shell syntax before running anything', () => {
    const tool = createShellTool({ sandbox, root, allow: ['ls'] });
    for (const command of ['ls -la', 'ls;id', 'ls&&id', '$(id)', '`id`', 'ls|id']) {
      expect(tool.input.safeParse({ command, args: [] }).success, command).toBe(false);
    }
  });

  it('passes ;, && and $(…) in args literally, with no shell to interpret them', async () => {
    const tool = createShellTool({ sandbox, root, allow: [node] });
    const args = ['a; touch pwned', 'b && touch pwned', '$(touch pwned)', '`touch pwned`', '> pwned'];
    const output = await call(tool, {
      command: node,
      args: ['-e', 'console.log(JSON.stringify(process.argv.slice(1)))', ...args],
    });
    expect(JSON.parse(String(output))).toEqual(args);
    await expect(readFile(join(root, 'pwned'))).rejects.toThrow();
  });

  it('runs in a folder inside the root and refuses one outside', async () => {
    const tool = createShellTool({ sandbox, root, allow: [node] });
    expect(await call(tool, { command: node, args: ['-e', 'console.log(process.cwd())'], cwd: 'sub' })).toBe(
      `${join(root, 'sub')}\n`,
    );
    expect((await failure(tool, { command: node, args: ['-e', '1'], cwd: '..' })).code).toBe('path_outside_root');
    expect((await failure(tool, { command: node, args: ['-e', '1'], cwd: base })).code).toBe('path_outside_root');
  });

  it('kills a program that runs past the timeout, even one ignoring SIGTERM', async () => {
    const tool = createShellTool({ sandbox, root, allow: [node], timeoutMs: 300 });
    const started = Date.now();
    const error = await failure(tool, {
      command: node,
      args: ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"],
    });
    expect(error.code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('caps output with a visible marker', async () => {
    const tool = createShellTool({ sandbox, root, allow: [node], outputMaxChars: 100 });
    const output = String(await call(tool, { command: node, args: ['-e', "process.stdout.write('x'.repeat(5000))"] }));
    expect(output.startsWith('x'.repeat(100))).toBe(true);
    expect(output).toContain('[output truncated: 4900 more characters]');
  });

  it('reports a non-zero exit as tool_failed with the exit code and output tail', async () => {
    const tool = createShellTool({ sandbox, root, allow: [node] });
    const error = await failure(tool, { command: node, args: ['-e', "console.error('boom'); process.exit(3)"] });
    expect(error.code).toBe('tool_failed');
    expect(error.message).toContain('exit code 3');
    expect(error.message).toContain('boom');
    expect(error.details.exitCode).toBe(3);
  });

  it('is not among the default built-in tools', () => {
    expect(builtinTools({ root }).map((t) => t.name)).not.toContain('run_command');
  });
});
