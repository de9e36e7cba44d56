import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CadreError } from '../../src/index.js';
import { createFileTools, resolveInsideRoot, type Tool } from '../../tools/index.js';

const ctx = { signal: new AbortController().signal, runId: 'r', taskId: 't', callId: 'c' };
let base: string;
let root: string;
let tools: Record<string, Tool>;
let fifos: string[];

/** Fails instead of hanging when a call blocks, so a regression cannot stall the whole run. */
function within<T>(promise: Promise<T>, ms = 2_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function call(name: string, args: Record<string, unknown>): Promise<unknown> {
  const tool = tools[name]!;
  return within(Promise.resolve(tool.run(tool.input.parse(args), ctx)));
}

async function refused(name: string, args: Record<string, unknown>, code: string) {
  const error = await call(name, args).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(
    CadreError.isInstance(error),
    `expected ${name}(${JSON.stringify(args)}) to be refused, got ${String(error)}`,
  ).toBe(true);
  expect((error as CadreError).code).toBe(code);
}

function mkfifo(name: string): string {
  const path = join(root, name);
  execFileSync('mkfifo', [path]);
  fifos.push(path);
  return path;
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'cadre-special-'));
  root = join(base, 'root');
  await mkdir(root);
  await writeFile(join(root, 'hello.txt'), 'hello');
  tools = Object.fromEntries(createFileTools({ root }).map((t) => [t.name, t]));
  fifos = [];
});

afterEach(async () => {
  // A reader stuck in open() on a FIFO (the bug this file guards against) is released by a writer.
  for (const path of fifos) {
    try {
      closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // ENXIO: nobody was waiting, as it should be.
    }
  }
  await rm(base, { recursive: true, force: true });
});

describe.skipIf(process.platform === 'win32')('file tools and special files', () => {
  it('refuse a FIFO at once, and eight refusals later the process fs still works', async () => {
    const pipe = mkfifo('pipe');
    for (let i = 0; i < 8; i++) await refused('read_file', { path: 'pipe' }, 'input_invalid');
    await refused('write_file', { path: 'pipe', content: 'x' }, 'input_invalid');
    await refused('list_dir', { path: 'pipe' }, 'input_invalid');
    expect(await call('read_file', { path: 'hello.txt' })).toBe('hello');
    expect((await lstat(pipe)).isFIFO()).toBe(true);
  });

  it('refuse a Unix socket with a CadreError', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(root, 'sock'), resolve));
    try {
      await refused('read_file', { path: 'sock' }, 'input_invalid');
      await refused('write_file', { path: 'sock', content: 'x' }, 'input_invalid');
      await refused('list_dir', { path: 'sock' }, 'input_invalid');
      expect((await lstat(join(root, 'sock'))).isSocket()).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuse a symlink to /dev/null as outside, and a device node inside the root without replacing it', async ({
    skip,
  }) => {
    await symlink('/dev/null', join(root, 'null-link'));
    await refused('read_file', { path: 'null-link' }, 'path_outside_root');
    await refused('write_file', { path: 'null-link', content: 'x' }, 'path_outside_root');
    await refused('list_dir', { path: 'null-link' }, 'path_outside_root');
    try {
      execFileSync('mknod', [join(root, 'null'), 'c', '1', '3'], { stdio: 'ignore' });
    } catch {
      skip('creating a device node needs CAP_MKNOD');
    }
    await refused('read_file', { path: 'null' }, 'input_invalid');
    await refused('write_file', { path: 'null', content: 'x' }, 'input_invalid');
    expect((await lstat(join(root, 'null'))).isCharacterDevice()).toBe(true);
  });

  it('refuse a symlink loop with path_invalid', async () => {
    await symlink('loop-b', join(root, 'loop-a'));
    await symlink('loop-a', join(root, 'loop-b'));
    await refused('read_file', { path: 'loop-a' }, 'path_invalid');
    await refused('list_dir', { path: 'loop-a' }, 'path_invalid');
    await refused('write_file', { path: 'loop-a/new.txt', content: 'x' }, 'path_invalid');
    await expect(resolveInsideRoot(root, 'loop-a/x')).rejects.toMatchObject({ code: 'path_invalid' });
  });

  it('give path_invalid for names too long and paths through a file, input_invalid for the wrong kind', async () => {
    const long = 'a'.repeat(300);
    await refused('read_file', { path: long }, 'path_invalid');
    await refused('write_file', { path: `${long}.txt`, content: 'x' }, 'path_invalid');
    await refused('write_file', { path: `${'d/'.repeat(2_040)}x`, content: 'x' }, 'path_invalid');
    await refused('read_file', { path: 'hello.txt/x' }, 'path_invalid');
    await refused('list_dir', { path: 'hello.txt/x' }, 'path_invalid');
    await refused('write_file', { path: 'hello.txt/x', content: 'x' }, 'path_invalid');
    await refused('list_dir', { path: 'hello.txt' }, 'input_invalid');
    await refused('read_file', { path: '.' }, 'input_invalid');
    await refused('write_file', { path: '.', content: 'x' }, 'input_invalid');
    await refused('write_file', { path: 'no-such-folder/x.txt', content: 'x' }, 'input_invalid');
    await expect(resolveInsideRoot(root, `${long}/x`)).rejects.toMatchObject({ code: 'path_invalid' });
    expect((await readdir(root)).sort()).toEqual(['hello.txt']);
  });
});
