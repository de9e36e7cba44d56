import { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { serveHttpApi, type HttpApiServing } from '../../../src/server/http/index.js';
import { open, parseFrames, storedRun, testApi } from './http-fixtures.js';

let serving: HttpApiServing | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await serving?.close();
  serving = undefined;
});

const stallMs = 1000;
const count = 3000;
const size = 8000;

describe('a client that stops reading an event stream', () => {
  it('is cut off with reason slow_consumer after a bounded amount was written, and resumes by Last-Event-ID with no gap', async () => {
    const t = testApi({ server: { port: 0, workers: 0, sseStallMs: stallMs } });
    const key = (await t.api.keys.create()).key;
    const keyId = (await t.api.keys.list())[0]!.id;
    serving = await serveHttpApi(t.api);
    const headers = { Host: new URL(serving.url).host, Authorization: `Bearer ${key}` };
    // A run with some 24 MB of events, far more than the socket buffers hold.
    const runId = 'run_slow_consumer';
    storedRun(t, keyId, runId, count, size);
    t.store.runs.update(runId, { status: 'completed', result: { status: 'completed' } });
    const logBytes = t.store.events.read(runId).reduce((n, e) => n + JSON.stringify(e).length, 0);

    // What the server holds for the client in its own buffer, over the life of the stream: the most
    // any response of this run's stream had queued and not yet handed to the socket.
    let buffered = 0;
    let writes = 0;
    const write = ServerResponse.prototype.write;
    vi.spyOn(ServerResponse.prototype, 'write').mockImplementation(function (
      this: ServerResponse,
      ...args: Parameters<ServerResponse['write']>
    ) {
      const ok = write.apply(this, args);
      if (this.req.url?.includes(runId)) {
        writes++;
        buffered = Math.max(buffered, this.writableLength);
      }
      return ok;
    });

    const response = await open(`${serving.url}/runs/${runId}/events`, { headers });
    expect(response.statusCode).toBe(200);
    // The client reads nothing while the server's stall period passes...
    response.pause();
    await sleep(stallMs + 300);
    // ...then takes what is already on its way (within the second period the final frame is given).
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve, reject) => {
      response.once('end', resolve);
      response.once('error', reject);
      response.resume();
    });
    const received = Buffer.concat(chunks);
    const first = parseFrames(received.toString());
    const end = first.at(-1)!;
    expect(end.data).toMatchObject({
      type: 'stream.end',
      runId,
      reason: 'slow_consumer',
      message: expect.stringContaining('Last-Event-ID'),
    });
    expect(end.data.status).toBeUndefined();
    const seen = first.filter((f) => f.id !== undefined);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(count);
    expect(end.data.lastSeq).toBe(seen.at(-1)!.id);
    // While the client read nothing the server stopped reading the run: its own buffer never held
    // more than a batch or so beyond the socket's, and what it wrote to the connection in all (every
    // byte of which arrived: the final frame came after it) is a small part of the log.
    expect(writes).toBeGreaterThan(0);
    expect(buffered).toBeLessThan(256 * 1024);
    expect(received.length).toBeLessThan(logBytes / 3);

    const rest = parseFrames(
      await (
        await fetch(`${serving.url}/runs/${runId}/events`, {
          headers: { ...headers, 'Last-Event-ID': String(end.data.lastSeq) },
        })
      ).text(),
    );
    const all = [...seen, ...rest.filter((f) => f.id !== undefined)];
    expect(all.map((f) => f.id)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect(rest.at(-1)!.data).toMatchObject({ type: 'stream.end', status: 'completed', lastSeq: count });
  }, 45_000);
});
