import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNamed } from 'cadre';
import { serveHttpApi, type HttpApiServing } from '../../../src/server/http/index.js';
import { open, parseFrames, testApi, testApp, type Frame } from './http-fixtures.js';
import { seeded } from '../../fixtures/seeded.js';

const t = testApi({ app: testApp({ latencyMs: [20, 50], tasks: 8 }).app, server: { port: 0 } });
const keyRecord = await t.api.keys.create({ name: 'sse' });
let serving: HttpApiServing;
let headers: Record<string, string>;

beforeAll(async () => {
  serving = await serveHttpApi(t.api);
  headers = { Host: new URL(serving.url).host, Authorization: `Bearer ${keyRecord.key}` };
});
afterAll(async () => serving.close());

interface Connection {
  frames: Frame[];
  /** Whether the run was still running here when the client dropped the socket. */
  cutWhileLive?: boolean;
}

/**
 * Reads a run's event stream from `lastId` on, destroying the socket after `cutAfter` bytes (in the
 * middle of a frame, as often as not); a frame not wholly received does not count as seen.
 */
async function connect(runId: string, lastId: number | undefined, cutAfter: number): Promise<Connection> {
  const response = await open(`${serving.url}/runs/${runId}/events`, {
    headers: { ...headers, ...(lastId !== undefined ? { 'Last-Event-ID': String(lastId) } : {}) },
  });
  expect(response.statusCode).toBe(200);
  return new Promise((resolve, reject) => {
    let text = '';
    response.on('data', (chunk: Buffer) => {
      const room = cutAfter - Buffer.byteLength(text);
      text += chunk.toString('utf8', 0, Math.max(0, Math.min(chunk.length, room)));
      if (Buffer.byteLength(text) >= cutAfter) {
        const cutWhileLive = t.api.runs.handle(runId) !== undefined;
        response.socket.destroy();
        resolve({ frames: parseFrames(text), cutWhileLive });
      }
    });
    response.on('end', () => resolve({ frames: parseFrames(text) }));
    response.on('error', reject);
  });
}

/** Follows a run to its end through `cuts` dropped connections; every frame seen, in order. */
async function followWithCuts(runId: string, cuts: number, next: () => number) {
  const seen: Frame[] = [];
  let liveCuts = 0;
  for (let attempt = 0; attempt < 200; attempt++) {
    const lastId = seen.filter((f) => f.id !== undefined).at(-1)?.id;
    const connection = await connect(runId, lastId, attempt < cuts ? 1 + Math.floor(next() * 2500) : Infinity);
    if (connection.cutWhileLive) liveCuts++;
    seen.push(...connection.frames);
    if (seen.at(-1)?.data.type === 'stream.end') return { seen, liveCuts };
  }
  throw new Error(`run ${runId} never ended its stream`);
}

function expectExactlyTheLog(runId: string, seen: Frame[], seed: number) {
  const events = seen.filter((f) => f.id !== undefined);
  const ends = seen.filter((f) => f.data.type === 'stream.end');
  const stored = t.store.events.read(runId);
  expect(stored.length).toBeGreaterThan(40);
  // No gap, no duplicate, nothing out of order: exactly the stored log.
  expect(
    events.map((f) => f.id),
    `seed ${seed}`,
  ).toEqual(stored.map((e) => e.seq));
  expect(events.map((f) => f.data)).toEqual(stored);
  expect(ends.at(-1)!.data).toMatchObject({
    type: 'stream.end',
    runId,
    status: 'completed',
    lastSeq: stored.at(-1)!.seq,
  });
}

describe('resumable SSE of a run', () => {
  it('gives a client cut off at random points exactly the stored log once it reconnects with Last-Event-ID', async () => {
    const seed = Date.now();
    const next = seeded(seed);
    const started = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const response = await fetch(`${serving.url}/runs`, {
          method: 'POST',
          headers: { ...headers, 'Content-Type': 'application/json' },
          body: JSON.stringify({ team: 'chain', goal: 'a chain of tasks' }),
        });
        expect(response.status).toBe(202);
        return ((await response.json()) as { id: string }).id;
      }),
    );
    const followed = await Promise.all(started.map((id) => followWithCuts(id, 5, next)));
    followed.forEach(({ seen }, i) => expectExactlyTheLog(started[i]!, seen, seed));
    // 50 cuts in all, many of them while the run was still going (the rest replay from the store).
    const live = followed.reduce((n, f) => n + f.liveCuts, 0);
    expect(live, `seed ${seed}`).toBeGreaterThanOrEqual(20);
  }, 60_000);

  it('follows a run another caller carries out in this process, from the store, with the same guarantee', async () => {
    const seed = Date.now();
    const handle = await runNamed({
      app: testApp({ latencyMs: [5, 25], tasks: 8 }).app,
      team: 'chain',
      goal: 'outside the API',
      config: t.config,
      owner: { key: keyRecord.id },
    });
    expect(t.api.runs.handle(handle.runId)).toBeUndefined();
    const { seen } = await followWithCuts(handle.runId, 8, seeded(seed));
    await handle.result;
    expectExactlyTheLog(handle.runId, seen, seed);
  }, 60_000);

  it('replays a finished run from `from`, and ends at once with its status when nothing is left', async () => {
    const [runId] = t.store.runs.listOwned({ key: keyRecord.id, limit: 1 }).map((r) => r.id);
    const stored = t.store.events.read(runId!);
    const from = stored[10]!.seq;
    const response = await fetch(`${serving.url}/runs/${runId}/events?from=${from}`, { headers });
    const frames = parseFrames(await response.text());
    expect(frames.filter((f) => f.id).map((f) => f.id)).toEqual(stored.slice(10).map((e) => e.seq));
    const past = await fetch(`${serving.url}/runs/${runId}/events`, {
      headers: { ...headers, 'Last-Event-ID': String(stored.at(-1)!.seq) },
    });
    expect(parseFrames(await past.text()).map((f) => f.data)).toEqual([
      { type: 'stream.end', runId, status: 'completed' },
    ]);
  });
});
