import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { serveHttpApi, type HttpApiServing } from '../../../src/server/http/index.js';
import { open, parseFrames, storedRun, testApi, testApp, type Frame } from './http-fixtures.js';

let serving: HttpApiServing | undefined;
afterEach(async () => {
  await serving?.close();
  serving = undefined;
});

/** An API on a real socket (port 0), with a key and the headers to use it. */
async function listening(options: Parameters<typeof testApi>[0] = {}) {
  const t = testApi({ ...options, server: { port: 0, workers: 0, ...options.server } });
  const key = (await t.api.keys.create()).key;
  serving = await serveHttpApi(t.api);
  const headers = { Host: new URL(serving.url).host, Authorization: `Bearer ${key}` };
  return { ...t, url: serving.url, headers, keyId: (await t.api.keys.list())[0]!.id };
}

describe('how frames are sent', () => {
  it('sends the response head at once to a client following a run with nothing to send yet', async () => {
    const t = await listening({ server: { sseHeartbeatMs: 60_000 } });
    storedRun(t, t.keyId, 'run_quiet', 0);
    const started = Date.now();
    const stop = new AbortController();
    // fetch resolves with the head: no frame, no heartbeat for a minute, so only a flushed head ends it.
    const response = await fetch(`${t.url}/runs/run_quiet/events`, { headers: t.headers, signal: stop.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(Date.now() - started).toBeLessThan(2_000);
    stop.abort();
  });

  it('sends the events ready at one moment in one write, in the log order, each with its seq as id', async () => {
    const t = testApi({ app: testApp({ latencyMs: 5, tasks: 3 }).app, server: { workers: 0 } });
    const key = (await t.api.keys.create()).key;
    // In-process, the stream is a web stream: each write of the server is one chunk here.
    const response = await t.api.app.request('/runs', {
      method: 'POST',
      headers: t.headers(key),
      body: JSON.stringify({ team: 'chain', goal: 'g', stream: true }),
    });
    const runId = response.headers.get('x-cadre-run-id')!;
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    const writes: Frame[][] = [];
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      const text = decoder.decode(read.value, { stream: true });
      expect(text.endsWith('\n\n'), 'a write holds whole frames').toBe(true);
      writes.push(parseFrames(text));
    }
    const frames = writes.flat();
    const stored = t.store.events.read(runId);
    expect(frames.filter((f) => f.id !== undefined).map((f) => f.id)).toEqual(stored.map((e) => e.seq));
    expect(frames.filter((f) => f.id !== undefined).map((f) => f.data)).toEqual(stored);
    expect(frames.at(-1)!.data).toMatchObject({ type: 'stream.end', status: 'completed', lastSeq: stored.at(-1)!.seq });
    // A model reply, its tool call and the tool's result are emitted together, and go out together.
    expect(writes.length).toBeLessThan(frames.length);
    expect(Math.max(...writes.map((w) => w.length))).toBeGreaterThan(1);
  });

  it('gives every one of many clients following one run exactly its stored log', async () => {
    const s = await listening({ app: testApp({ latencyMs: [2, 10], tasks: 4 }).app });
    const started = await fetch(`${s.url}/runs`, {
      method: 'POST',
      headers: { ...s.headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ team: 'chain', goal: 'g' }),
    });
    const { id } = (await started.json()) as { id: string };
    const texts = await Promise.all(
      Array.from({ length: 25 }, async (_, i) => {
        await sleep(i); // joining at different points of the run: some replay, some only follow
        return (await fetch(`${s.url}/runs/${id}/events`, { headers: s.headers })).text();
      }),
    );
    const stored = s.store.events.read(id);
    for (const text of texts) {
      const frames = parseFrames(text);
      expect(frames.filter((f) => f.id !== undefined).map((f) => f.data)).toEqual(stored);
      expect(frames.at(-1)!.data).toMatchObject({ type: 'stream.end', status: 'completed' });
    }
  });

  it('sends the response head at once and a keep-alive comment while the run is quiet, then its end', async () => {
    const s = await listening({ server: { sseHeartbeatMs: 40, ssePollMs: 20 } });
    storedRun(s, s.keyId, 'run_quiet', 2);
    // Nothing after seq 2 yet: the head must come without any frame.
    const response = await open(`${s.url}/runs/run_quiet/events`, {
      headers: { ...s.headers, 'Last-Event-ID': '2' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    let text = '';
    response.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await sleep(250);
    expect(text.match(/^: keep-alive$/gm)?.length ?? 0).toBeGreaterThanOrEqual(2);
    expect(parseFrames(text)).toEqual([]);
    s.store.runs.update('run_quiet', { status: 'completed', result: { status: 'completed' } });
    await new Promise((resolve) => response.once('end', resolve));
    expect(parseFrames(text)).toEqual([{ data: { type: 'stream.end', runId: 'run_quiet', status: 'completed' } }]);
  });

  it('waits for a reader that is slow but keeps reading, and loses nothing', async () => {
    const s = await listening({ server: { sseStallMs: 500 } });
    // Some 8 MB: more than the socket buffers hold, so the server must wait for the reader to drain them.
    storedRun(s, s.keyId, 'run_big', 1000, 8000);
    s.store.runs.update('run_big', { status: 'completed', result: { status: 'completed' } });
    const response = await open(`${s.url}/runs/run_big/events`, { headers: s.headers });
    let text = '';
    let pauses = 0;
    response.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      // Reads a chunk every few milliseconds, far below what the server could send.
      response.pause();
      pauses++;
      setTimeout(() => response.resume(), 3);
    });
    await new Promise((resolve) => response.once('end', resolve));
    const frames = parseFrames(text);
    expect(pauses).toBeGreaterThan(20);
    expect(frames.filter((f) => f.id !== undefined).map((f) => f.id)).toEqual(
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
    expect(frames.at(-1)!.data).toMatchObject({ type: 'stream.end', status: 'completed', lastSeq: 1000 });
  }, 30_000);
});
