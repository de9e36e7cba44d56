import { mkdtempSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadApp, openCadreStore, resumeNamed } from 'cadre';
import { serveHttpApi, type HttpApiServing } from '../../../src/server/http/index.js';
import { startServe, stopServeProcesses } from '../../fixtures/serve-process.js';
import { open, parseFrames, testApi, testApp, type Frame } from './http-fixtures.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixtureApp = join(root, 'test/fixtures/cadre-app.ts');
let serving: HttpApiServing | undefined;
afterEach(async () => {
  stopServeProcesses();
  delete process.env.CADRE_TEST_WORK_LOG;
  await serving?.close();
  serving = undefined;
});

/** Reads an SSE response as it arrives; `ended` resolves with every frame once the server closes it. */
function follow(response: IncomingMessage) {
  let text = '';
  const frames = () => parseFrames(text);
  const ended = new Promise<Frame[]>((resolve, reject) => {
    response.on('data', (chunk: Buffer) => (text += chunk.toString()));
    response.once('end', () => resolve(frames()));
    response.once('error', reject);
  });
  return { frames, ended };
}

async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}

/** Frames of the run's own events (live-only `model.delta` frames, if any, left out). */
const logged = (frames: Frame[]) => frames.filter((f) => f.id !== undefined && f.data.type !== 'model.delta');
const completedTasks = (frames: Frame[]) =>
  frames.filter((f) => f.data.type === 'task.completed').map((f) => f.data.taskId as string);

describe('graceful shutdown with work in flight', () => {
  it('in process: open streams get their final frame, the run is left cancelled and resumes to completion', async () => {
    const { app } = testApp({ latencyMs: 60, tasks: 6 });
    const t = testApi({ app, server: { port: 0, workers: 0, ssePollMs: 20, sseHeartbeatMs: 50 } });
    const key = (await t.api.keys.create()).key;
    const keyId = (await t.api.keys.list())[0]!.id;
    serving = await serveHttpApi(t.api);
    const headers = {
      Host: new URL(serving.url).host,
      Authorization: `Bearer ${key}`,
      'Content-Type': 'application/json',
    };

    // A run of this server, streamed from its start and followed by a second client.
    const started = await open(`${serving.url}/runs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ team: 'chain', goal: 'six tasks', stream: true }),
    });
    const runId = started.headers['x-cadre-run-id'] as string;
    const streamed = follow(started);
    const followed = follow(await open(`${serving.url}/runs/${runId}/events`, { headers }));
    // A run another process carries out (`running` in the store, no handle here), followed too.
    t.store.runs.create({ id: 'run_elsewhere', goal: 'elsewhere', settings: { owner: { key: keyId } } });
    const elsewhere = follow(await open(`${serving.url}/runs/run_elsewhere/events`, { headers }));

    await until(() => completedTasks(streamed.frames()).length >= 1);
    expect(t.api.runs.handle(runId)).toBeDefined();
    const stopping = serving.close('test shutdown');
    serving = undefined;
    const [a, b, c] = await Promise.all([streamed.ended, followed.ended, elsewhere.ended]);
    await stopping;

    const stored = t.store.events.read(runId);
    for (const frames of [a, b]) {
      expect(logged(frames).map((f) => f.data)).toEqual(stored);
      expect(frames.at(-2)!.data).toMatchObject({ type: 'run.completed', status: 'cancelled' });
      expect(frames.at(-1)!.data).toEqual({
        type: 'stream.end',
        runId,
        status: 'cancelled',
        lastSeq: stored.at(-1)!.seq,
      });
    }
    expect(c.at(-1)!.data).toMatchObject({ type: 'stream.end', runId: 'run_elsewhere', reason: 'server_shutdown' });
    const done = completedTasks(a);
    expect(done.length).toBeGreaterThanOrEqual(1);
    expect(done.length).toBeLessThan(6);

    // Left resumable, not `running`: resumed, it finishes the tasks that were left.
    expect(t.store.runs.get(runId)!.status).toBe('cancelled');
    const resumed = await resumeNamed(runId, { app, config: t.config });
    const result = await resumed.result;
    expect(result.status).toBe('completed');
    const after = t.store.events.read(runId).filter((e) => e.seq > stored.at(-1)!.seq);
    const redone = after.flatMap((e) => (e.type === 'task.completed' ? [e.taskId] : []));
    expect(redone.length).toBe(6 - done.length);
    for (const id of done) expect(redone).not.toContain(id);
  });

  it('cadre serve on SIGTERM: the open stream gets its final frame, the process exits 0, and the run resumes', async () => {
    const data = mkdtempSync(join(tmpdir(), 'cadre-shutdown-'));
    const workLog = join(data, 'work.log');
    const server = await startServe({
      data,
      app: fixtureApp,
      env: { CADRE_TEST_LATENCY_MS: '150', CADRE_TEST_WORK_LOG: workLog },
    });
    const { child, exited, url } = server;
    const key = server.printedKey!;
    const headers = { Host: new URL(url).host, Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };

    const started = await open(`${url}/runs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ team: 'chain', goal: 'six slow tasks', stream: true }),
    });
    expect(started.statusCode).toBe(200);
    const runId = started.headers['x-cadre-run-id'] as string;
    const streamed = follow(started);
    await until(() => completedTasks(streamed.frames()).length >= 1);
    child.kill('SIGTERM');
    const frames = await streamed.ended;
    expect(await exited).toBe(0);
    expect(server.stderr()).toMatch(/SIGTERM received/);

    expect(frames.at(-2)!.data).toMatchObject({ type: 'run.completed', status: 'cancelled' });
    expect(frames.at(-1)!.data).toMatchObject({ type: 'stream.end', runId, status: 'cancelled' });
    const store = openCadreStore({ path: join(data, 'cadre.db') });
    const stored = store.events.read(runId);
    expect(logged(frames).map((f) => f.data)).toEqual(stored);
    expect(store.runs.get(runId)!.status).toBe('cancelled');
    const done = completedTasks(frames);
    expect(done.length).toBeLessThan(6);

    // Resumed (as `cadre resume <runId>` does), it completes without running a finished task again.
    process.env.CADRE_TEST_WORK_LOG = workLog;
    const app = await loadApp({ path: fixtureApp });
    const resumed = await resumeNamed(runId, { app, config: { dataDir: data, databasePath: join(data, 'cadre.db') } });
    expect((await resumed.result).status).toBe('completed');
    const work = readFileSync(workLog, 'utf8').trim().split('\n');
    for (const id of done)
      expect(
        work.filter((w) => w === id),
        `${id} ran again`,
      ).toHaveLength(1);
    expect(new Set(work)).toEqual(new Set(['t1', 't2', 't3', 't4', 't5', 't6']));
    store.close();
  }, 60_000);
});
