import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CadreError } from '../../src/index.js';
import { createFileTools, type Tool } from '../../tools/index.js';

const ctx = { signal: new AbortController().signal, runId: 'r', taskId: 't', callId: 'c' };
const callsPerOperation = 2_000;

// Swaps root/swap between the real folder and a symlink to the outside, on its own thread so it truly
// interleaves with libuv's fs calls. Spins (timer slack makes sleeps ~60 µs) hold the real folder 40 µs,
// so a fair share of calls succeed, and the symlink 20 µs, so check-then-use code gets caught.
const swapperSource = `
const { workerData } = require('node:worker_threads');
const { renameSync } = require('node:fs');
const { dir, hold, link, control } = workerData;
const flags = new Int32Array(control);
const spin = (ms) => { for (const until = performance.now() + ms; performance.now() < until;); };
while (Atomics.load(flags, 0) === 0) {
  renameSync(dir, hold);
  renameSync(link, dir);
  spin(0.02);
  renameSync(dir, link);
  renameSync(hold, dir);
  Atomics.add(flags, 1, 1);
  spin(0.04);
}`;

let base: string;
let root: string;
let mirror: string;
let tools: Record<string, Tool>;

const call = (name: string, args: Record<string, unknown>) => tools[name]!.run(tools[name]!.input.parse(args), ctx);

/** Makes `callsPerOperation` calls (four at a time) while the swapper runs; counts successes and swaps. */
async function underSwap(attempt: (i: number) => Promise<void>) {
  const control = new SharedArrayBuffer(8);
  const flags = new Int32Array(control);
  const paths = { dir: join(root, 'swap'), hold: join(root, '.hold'), link: join(root, '.link') };
  const worker = new Worker(swapperSource, { eval: true, workerData: { ...paths, control } });
  let swapperFailure: unknown;
  worker.once('error', (error) => (swapperFailure = error));
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  const deadline = performance.now() + 5_000;
  let next = 0;
  let succeeded = 0;
  const refusals = new Set<string>();
  const lane = async () => {
    while (next < callsPerOperation) {
      const i = next++;
      // Paced to the swapper, one call per swap at most: on a busy machine a starved swapper thread
      // would otherwise let most calls run against a still folder.
      while (Atomics.load(flags, 1) < i && performance.now() < deadline) await sleep(1);
      try {
        await attempt(i);
        succeeded++;
      } catch (error) {
        if (!CadreError.isInstance(error)) next = callsPerOperation; // the other lanes stop too
        expect(CadreError.isInstance(error), `call ${i} threw ${String(error)}`).toBe(true);
        refusals.add((error as CadreError).code);
      }
    }
  };
  const lanes = await Promise.allSettled([lane(), lane(), lane(), lane()]);
  Atomics.store(flags, 0, 1);
  await exited;
  for (const outcome of lanes) if (outcome.status === 'rejected') throw outcome.reason;
  if (swapperFailure) throw swapperFailure;
  return { succeeded, swaps: Atomics.load(flags, 1), refusals: [...refusals] };
}

/** Guards against a vacuous pass: the swapper swapped, the tools saw it, and many calls still worked. */
function expectRealContest(result: { succeeded: number; swaps: number; refusals: string[] }) {
  expect(result.swaps).toBeGreaterThanOrEqual(callsPerOperation / 2);
  expect(result.refusals).toContain('path_outside_root');
  expect(result.succeeded).toBeGreaterThan(callsPerOperation * 0.05);
}

/** Every entry under `dir` with its kind, size, mtime and (for files) content. */
async function snapshot(dir: string, prefix = ''): Promise<string[]> {
  const lines: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    const info = await lstat(path);
    const name = `${prefix}${entry.name}`;
    if (info.isDirectory()) lines.push(`${name}/ ${info.mtimeMs}`, ...(await snapshot(path, `${name}/`)));
    else if (info.isSymbolicLink()) lines.push(`${name} -> ${await readlink(path)}`);
    else lines.push(`${name} ${info.size} ${info.mtimeMs} ${await readFile(path, 'utf8')}`);
  }
  return lines;
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'cadre-race-'));
  root = join(base, 'root');
  mirror = join(base, 'outside', 'mirror');
  // The outside folder mirrors the inside one's names, so a redirected call would succeed, visibly.
  for (const [dir, side] of [
    [join(root, 'swap'), 'inside'],
    [mirror, 'OUTSIDE'],
  ] as const) {
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'data.txt'), side);
    await writeFile(join(dir, `${side.toLowerCase()}-marker.txt`), side);
    await writeFile(join(dir, 'sub', `${side.toLowerCase()}-only.txt`), side);
  }
  await symlink(mirror, join(root, '.link'));
  tools = Object.fromEntries(createFileTools({ root }).map((t) => [t.name, t]));
});

afterEach(() => rm(base, { recursive: true, force: true }));

// The guarantee holds where /proc/self/fd names opened objects; elsewhere the tools are best effort.
describe.runIf(process.platform === 'linux')('file tools under a concurrent symlink swap', () => {
  it('read_file never returns the contents of a file outside the root', async () => {
    const leaked: string[] = [];
    const result = await underSwap(async () => {
      const text = await call('read_file', { path: 'swap/data.txt' });
      if (text !== 'inside') leaked.push(String(text));
    });
    expect(leaked).toEqual([]);
    expectRealContest(result);
  });

  it('list_dir never lists a folder outside the root', async () => {
    const leaked: string[] = [];
    const result = await underSwap(async (i) => {
      const text = String(await call('list_dir', { path: i % 2 ? 'swap/sub' : 'swap' }));
      if (/outside/i.test(text)) leaked.push(text);
    });
    expect(leaked).toEqual([]);
    expectRealContest(result);
  });

  it('write_file never creates, changes or leaves a temp file outside the root', async () => {
    const outside = join(base, 'outside');
    const before = await snapshot(outside);
    const result = await underSwap(async (i) => {
      await call('write_file', { path: i % 2 ? `swap/sub/w${i % 20}.txt` : 'swap/data.txt', content: `inside ${i}` });
    });
    expect(await snapshot(outside)).toEqual(before);
    expectRealContest(result);
    const inside = await snapshot(root);
    expect(inside.filter((line) => line.includes('.tmp'))).toEqual([]);
    expect(inside.some((line) => line.startsWith('swap/sub/w'))).toBe(true);
  });
});
