import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadApp, openCadreStore } from 'cadre';
import { createClient, type CadreEvent } from 'cadre/client';
import { createHttpApi, serveHttpApi } from '../../../src/server/http/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixtureApp = join(root, 'test/fixtures/cadre-app.ts');
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  delete process.env.CADRE_TEST_WORK_LOG;
  delete process.env.CADRE_TEST_LATENCY_MS;
});

/** `cadre serve` over the fixture registry in its own process: its URL and the key it printed. */
async function serveInChild(data: string, env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--data', data, '--app', fixtureApp],
    // Plain output: picocolors colours it under CI=true, which would split the lines read below.
    { cwd: root, env: { ...process.env, CADRE_DATABASE_PATH: '', NO_COLOR: '1', ...env } },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise<{ child: ChildProcessWithoutNullStreams; url: string; key: string }>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const url = /cadre serving (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1];
      const key = /cadre_\w{12}_[\w-]{43}/.exec(stdout)?.[0];
      if (url && key) resolve({ child, url, key });
    });
    child.once('exit', (code) => reject(new Error(`cadre serve exited ${code}: ${stderr}`)));
  });
}

function killNow(child: ChildProcessWithoutNullStreams): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  return exited;
}

/** The API in this process over the same data folder, started as `cadre serve` starts it. */
async function restart(data: string, port = 0) {
  const app = await loadApp({ path: fixtureApp });
  const api = createHttpApi({
    app,
    config: { dataDir: data, databasePath: join(data, 'cadre.db') },
    server: { port },
  });
  return serveHttpApi(api);
}

const taskIds = (events: CadreEvent[]) =>
  events.flatMap((e) => (e.type === 'task.completed' ? [(e as { taskId: string }).taskId] : []));

describe('cadre serve re-drives runs a dead process left running', () => {
  it('resumes a run started over HTTP after kill -9: it completes, no finished task runs again, and a client following it reconnects', async () => {
    const data = mkdtempSync(join(tmpdir(), 'cadre-redrive-'));
    const workLog = join(data, 'work.log');
    const first = await serveInChild(data, { CADRE_TEST_LATENCY_MS: '40', CADRE_TEST_WORK_LOG: workLog });
    const client = createClient({ baseURL: first.url, apiKey: first.key });
    const run = await client.runs.create({ team: 'chain', goal: 'six tasks, killed after two' });
    const stream = client.runs.events(run.id, { retryDelayMs: 50, maxRetries: 40 });
    const seen: CadreEvent[] = [];
    let twoDone!: () => void;
    const two = new Promise<void>((resolve) => (twoDone = resolve));
    const following = (async () => {
      for await (const event of stream) {
        seen.push(event);
        if (taskIds(seen).length === 2) twoDone();
      }
    })();
    await two;
    await killNow(first.child);
    const finished = readFileSync(workLog, 'utf8').trim().split('\n');
    expect(finished).toEqual(expect.arrayContaining(['t1', 't2']));
    expect(openCadreStore({ path: join(data, 'cadre.db') }).runs.get(run.id)!.status).toBe('interrupted');

    process.env.CADRE_TEST_WORK_LOG = workLog;
    process.env.CADRE_TEST_LATENCY_MS = '5';
    const second = await restart(data, Number(new URL(first.url).port));
    try {
      expect(second.redriven).toEqual({ resumed: [run.id], failed: [] });
      // The client that was following the run reconnects by itself and sees it to its end.
      await following;
      expect(stream.status).toBe('completed');
      expect(stream.reconnects).toBeGreaterThan(0);
      expect(taskIds(seen)).toEqual(['t1', 't2', 't3', 't4', 't5', 't6']);
      // Nothing twice, in order, and every stored event. (An event sent live may not have been
      // committed when the process died: the client may hold one the log lacks, never the reverse.)
      // (The live `model.delta` events take the seq of the stored event before them.)
      const seqs = seen.filter((e) => e.type !== 'model.delta').map((e) => e.seq);
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
      expect(seqs).toEqual(
        expect.arrayContaining(
          openCadreStore({ path: join(data, 'cadre.db') })
            .events.read(run.id)
            .map((e) => e.seq),
        ),
      );
      expect((await createClient({ baseURL: second.url, apiKey: first.key }).runs.get(run.id)).status).toBe(
        'completed',
      );
      const work = readFileSync(workLog, 'utf8').trim().split('\n');
      for (const id of finished)
        expect(
          work.filter((w) => w === id),
          `${id} ran again`,
        ).toHaveLength(1);
      expect(new Set(work)).toEqual(new Set(['t1', 't2', 't3', 't4', 't5', 't6']));
    } finally {
      await second.close();
    }
    // Re-driven once: a later start finds nothing left to resume.
    const third = await restart(data);
    expect(third.redriven).toEqual({ resumed: [], failed: [] });
    await third.close();
  }, 60_000);

  it('every run answered with an id completes after a kill at a random instant before its first checkpoint', async () => {
    const trials = 4;
    const perTrial = 4;
    let redriven = 0;
    for (let trial = 0; trial < trials; trial++) {
      const data = mkdtempSync(join(tmpdir(), 'cadre-redrive-'));
      const server = await serveInChild(data, { CADRE_TEST_LATENCY_MS: '40' });
      const client = createClient({ baseURL: server.url, apiKey: server.key });
      const answered: string[] = [];
      const requests = Array.from({ length: perTrial }, async (_, i) => {
        await sleep(Math.random() * 20);
        const run = await client.runs.create({ team: 'chain', goal: `trial ${trial} run ${i}` }).catch(() => undefined);
        if (run) answered.push(run.id);
      });
      // A first task takes two model calls of 40 ms: killed from 0 to 100 ms in, no run has checkpointed it.
      await sleep(Math.random() * 100);
      await killNow(server.child);
      await Promise.all(requests);

      process.env.CADRE_TEST_LATENCY_MS = '5';
      // Two servers start on the same database at once: each run is resumed by one of them only.
      const [restarted, other] = await Promise.all([restart(data), restart(data)]);
      try {
        const store = openCadreStore({ path: join(data, 'cadre.db') });
        const stored = store.runs.list(100);
        expect([...restarted.redriven.failed, ...other.redriven.failed], `trial ${trial}`).toEqual([]);
        const resumed = [...restarted.redriven.resumed, ...other.redriven.resumed];
        expect(new Set(resumed).size, `trial ${trial}: a run resumed twice`).toBe(resumed.length);
        redriven += resumed.length;
        expect(stored.map((r) => r.id).sort(), `trial ${trial}: runs lost`).toEqual(
          expect.arrayContaining([...answered].sort()),
        );
        const again = createClient({ baseURL: restarted.url, apiKey: server.key });
        for (const record of stored) {
          const stream = again.runs.events(record.id);
          const events: CadreEvent[] = [];
          for await (const event of stream) events.push(event);
          expect(stream.status, `trial ${trial}: ${record.id}`).toBe('completed');
          // Ran once: one completion, each task completed once.
          expect(
            events.filter((e) => e.type === 'run.completed'),
            record.id,
          ).toHaveLength(1);
          expect(taskIds(events), record.id).toEqual(['t1', 't2', 't3', 't4', 't5', 't6']);
        }
      } finally {
        await Promise.all([restarted.close(), other.close()]);
      }
    }
    // The kills landed while runs were admitted and under way, not only before any request.
    expect(redriven).toBeGreaterThan(0);
  }, 60_000);
});
