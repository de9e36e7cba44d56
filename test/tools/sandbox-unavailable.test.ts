import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CadreError } from 'cadre';
import { McpServerConnection, createShellTool, type Tool } from 'cadre/tools';

// Runs with or without bubblewrap installed: these tests point at one that is not there.
const ctx = { signal: new AbortController().signal, runId: 'r', taskId: 't', callId: 'c' };
const node = process.execPath;
let base: string;
let root: string;
let marker: string;
let missingBwrap: string;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'cadre-no-bwrap-')));
  root = join(base, 'root');
  marker = join(root, 'ran.txt');
  missingBwrap = join(base, 'no-such-bwrap');
  await mkdir(root);
});
afterAll(() => rm(base, { recursive: true, force: true }));

async function failure(tool: Tool): Promise<unknown> {
  const args = tool.input.parse({ command: node, args: ['-e', `require('node:fs').writeFileSync('ran.txt', 'x')`] });
  return Promise.resolve(tool.run(args, ctx)).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('a sandbox without bubblewrap', () => {
  it('fails run_command with sandbox_unavailable, naming the fix, and runs nothing', async () => {
    const error = await failure(createShellTool({ root, allow: [node], sandbox: { bwrapPath: missingBwrap } }));
    expect(CadreError.isInstance(error) && error.code).toBe('sandbox_unavailable');
    expect((error as Error).message).toMatch(/bubblewrap.*not found.*sandbox: false/s);
    expect(existsSync(marker)).toBe(false);
  });

  it('fails the same way when bwrap is there but cannot create a sandbox (its trial run fails)', async () => {
    // `false` stands in for a bwrap on a system with user namespaces disabled: it exits non-zero.
    const error = await failure(createShellTool({ root, allow: [node], sandbox: { bwrapPath: '/bin/false' } }));
    expect(CadreError.isInstance(error) && error.code).toBe('sandbox_unavailable');
    expect((error as Error).message).toMatch(/cannot create a sandbox here/);
    expect(existsSync(marker)).toBe(false);
  });

  it('is what run_command does by default when bwrap is not on PATH', async () => {
    vi.stubEnv('PATH', base);
    try {
      const error = await failure(createShellTool({ root, allow: [node], env: { PATH: process.env.PATH } }));
      expect(CadreError.isInstance(error) && error.code).toBe('sandbox_unavailable');
    } finally {
      vi.unstubAllEnvs();
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('fails a sandboxed MCP server with sandbox_unavailable before any process starts', async () => {
    const connection = new McpServerConnection({
      name: 'boxed',
      config: {
        command: node,
        args: ['-e', `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x')`],
        sandbox: true,
      },
      sandbox: { bwrapPath: missingBwrap },
    });
    await expect(connection.listTools()).rejects.toMatchObject({
      code: 'sandbox_unavailable',
      message: expect.stringMatching(/MCP server "boxed" could not be started: .*bubblewrap/),
    });
    expect(connection.pid).toBeUndefined();
    expect(existsSync(marker)).toBe(false);
    await connection.close();
  });
});
