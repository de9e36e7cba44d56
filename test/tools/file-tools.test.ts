import { mkdtemp, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { CadreError, InMemoryToolCallJournal, callDigest } from 'cadre';
import { ToolExecutor, createFileTools, type Tool } from 'cadre/tools';

const ctx = { signal: new AbortController().signal, runId: 'r', taskId: 't', callId: 'c' };
let base: string;
let root: string;
let outside: string;
let tools: Record<string, Tool>;

async function call(name: string, args: Record<string, unknown>): Promise<unknown> {
  const tool = tools[name]!;
  return tool.run(tool.input.parse(args), ctx);
}

async function refused(name: string, args: Record<string, unknown>, code: string) {
  const error = await call(name, args).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(CadreError.isInstance(error), `expected ${name}(${JSON.stringify(args)}) to be refused`).toBe(true);
  expect((error as CadreError).code).toBe(code);
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'cadre-files-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  await mkdir(root);
  await mkdir(outside);
  await writeFile(join(outside, 'secret.txt'), 'do not read');
  await writeFile(join(root, 'hello.txt'), 'hello');
  tools = Object.fromEntries(createFileTools({ root }).map((t) => [t.name, t]));
});

describe('file tools', () => {
  it('read, list and write inside the root', async () => {
    expect(await call('read_file', { path: 'hello.txt' })).toBe('hello');
    await call('write_file', { path: 'sub/../new.txt', content: 'fresh' });
    expect(await readFile(join(root, 'new.txt'), 'utf8')).toBe('fresh');
    expect(await call('list_dir', { path: '.' })).toBe('hello.txt (5 bytes)\nnew.txt (5 bytes)');
  });

  it('writes atomically, leaving no temp files behind', async () => {
    await call('write_file', { path: 'hello.txt', content: 'replaced' });
    expect(await readFile(join(root, 'hello.txt'), 'utf8')).toBe('replaced');
    expect((await readdir(root)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses ../ traversal, absolute paths outside, symlink escapes and null bytes, touching nothing outside', async () => {
    const before = await stat(join(outside, 'secret.txt'));
    await symlink(join(outside, 'secret.txt'), join(root, 'link.txt'));
    await symlink(outside, join(root, 'linkdir'));

    await refused('read_file', { path: '../outside/secret.txt' }, 'path_outside_root');
    await refused('read_file', { path: join(outside, 'secret.txt') }, 'path_outside_root');
    await refused('read_file', { path: 'link.txt' }, 'path_outside_root');
    await refused('read_file', { path: 'linkdir/secret.txt' }, 'path_outside_root');
    await refused('list_dir', { path: 'linkdir' }, 'path_outside_root');
    await refused('read_file', { path: 'hello.txt\0.png' }, 'path_invalid');
    await refused('write_file', { path: '../outside/new.txt', content: 'x' }, 'path_outside_root');
    await refused('write_file', { path: 'linkdir/new.txt', content: 'x' }, 'path_outside_root');
    await refused('write_file', { path: 'link.txt', content: 'overwritten' }, 'path_outside_root');
    await refused('write_file', { path: join(outside, 'abs.txt'), content: 'x' }, 'path_outside_root');

    expect((await readdir(outside)).sort()).toEqual(['secret.txt']);
    const after = await stat(join(outside, 'secret.txt'));
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('do not read');
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it('allows a symlink that stays inside the root', async () => {
    await symlink(join(root, 'hello.txt'), join(root, 'alias.txt'));
    expect(await call('read_file', { path: 'alias.txt' })).toBe('hello');
  });
});

describe('write_file is keyed', () => {
  it('re-run after a crash that came after its write, it finds the write in place and leaves the file; before the write, it writes', async () => {
    const write = tools.write_file!;
    expect(write.idempotent).toBe('keyed');
    const journal = new InMemoryToolCallJournal();
    const executor = new ToolExecutor({ tools: [write] });
    const args = { path: 'report.txt', content: 'final text' };
    const started = (callId: string) =>
      journal.begin({
        runId: 'r',
        taskId: 't',
        callId,
        tool: 'write_file',
        args,
        digest: callDigest('write_file', args),
      });
    // Crashed after the rename, before the journal recorded the end.
    await call('write_file', args);
    const before = await stat(join(root, 'report.txt'));
    started('1.1');
    const rerun = await executor.execute(
      { id: 'c', name: 'write_file', args },
      { runId: 'r', taskId: 't', step: 1, callKey: '1.1', journal },
    );
    expect(rerun).toMatchObject({ ok: true, output: 'Wrote 10 bytes to report.txt' });
    expect((await stat(join(root, 'report.txt'))).ino).toBe(before.ino);
    // Crashed before the write: the re-run writes.
    started('2.1');
    await writeFile(join(root, 'report.txt'), 'draft');
    const second = await executor.execute(
      { id: 'c', name: 'write_file', args },
      { runId: 'r', taskId: 't', step: 2, callKey: '2.1', journal },
    );
    expect(second.ok).toBe(true);
    expect(await readFile(join(root, 'report.txt'), 'utf8')).toBe('final text');
  });
});
