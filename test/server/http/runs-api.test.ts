import { setTimeout as sleep } from 'node:timers/promises';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterEach, describe, expect, it } from 'vitest';
import { serveHttpApi, type HttpApiServing } from '../../../src/server/http/index.js';
import { open, parseFrames, testApi, testApp, type Frame } from './http-fixtures.js';

let serving: HttpApiServing | undefined;
afterEach(async () => {
  await serving?.close();
  serving = undefined;
});

/** An API on a real socket (port 0), with a key and the headers to use it. */
async function listening(options: Parameters<typeof testApi>[0] = {}) {
  const t = testApi({ ...options, server: { port: 0, ...options.server } });
  const key = (await t.api.keys.create()).key;
  serving = await serveHttpApi(t.api);
  const url = serving.url;
  const headers = { Host: new URL(url).host, Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
  const post = (path: string, body: unknown) =>
    fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { ...t, key, url, headers, post, serving };
}

async function statusOf(url: string, headers: Record<string, string>, id: string): Promise<string> {
  return ((await (await fetch(`${url}/runs/${id}`, { headers })).json()) as { status: string }).status;
}

async function until(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

describe('POST /runs', () => {
  it('with stream: true answers with the run as SSE at once, ending with its final status', async () => {
    const s = await listening();
    const response = await s.post('/runs', { team: 'chain', goal: 'a chain of tasks', stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const runId = response.headers.get('x-cadre-run-id')!;
    const frames = parseFrames(await response.text());
    expect(frames[0]!.data).toMatchObject({ type: 'run.started', runId, seq: 1 });
    expect(frames.filter((f) => f.id).map((f) => f.data)).toEqual(s.store.events.read(runId));
    expect(frames.at(-2)!.data).toMatchObject({ type: 'run.completed', status: 'completed' });
    expect(frames.at(-1)!.data).toMatchObject({ type: 'stream.end', status: 'completed' });
  });

  it('streams each reply token by token (model.delta, frames without an id) before its stored model.response', async () => {
    const s = await listening();
    const response = await s.post('/runs', { team: 'chain', goal: 'a chain of tasks', stream: true });
    const frames = parseFrames(await response.text());
    const deltas = frames.filter((f) => f.data.type === 'model.delta');
    expect(deltas.length).toBeGreaterThan(1);
    // Live only: no id, so a client's Last-Event-ID stays the stored event before them.
    expect(deltas.every((f) => f.id === undefined)).toBe(true);
    expect(
      frames
        .filter((f) => f.data.type !== 'model.delta' && f.data.type !== 'stream.end')
        .every((f) => f.id === f.data.seq),
    ).toBe(true);
    // A reply's deltas come before its model.response and spell out its content.
    const reply = frames.find((f) => f.data.type === 'model.response' && f.data.content !== '')!;
    const before = frames.slice(0, frames.indexOf(reply));
    const own = before.filter(
      (f) => f.data.type === 'model.delta' && f.data.taskId === reply.data.taskId && f.data.step === reply.data.step,
    );
    expect(own.map((f) => f.data.text ?? '').join('')).toBe(reply.data.content);
    // Asked without them (`deltas: false`, `?deltas=false`): the stored events only.
    const plain = await s.post('/runs', { team: 'chain', goal: 'no tokens', stream: true, deltas: false });
    const plainFrames = parseFrames(await plain.text());
    expect(plainFrames.filter((f) => f.data.type === 'model.delta')).toEqual([]);
    expect(plainFrames.at(-1)!.data).toMatchObject({ type: 'stream.end', status: 'completed' });
    // Followed live by GET: with tokens by default, without them when asked.
    const deltasWhenFollowed = async (query: string) => {
      const started = await s.post('/runs', { team: 'chain', goal: `followed ${query}` });
      const { id } = (await started.json()) as { id: string };
      const followed = parseFrames(
        await (await fetch(`${s.url}/runs/${id}/events${query}`, { headers: s.headers })).text(),
      );
      expect(followed.at(-1)!.data).toMatchObject({ type: 'stream.end', status: 'completed' });
      return followed.filter((f) => f.data.type === 'model.delta').length;
    };
    expect(await deltasWhenFollowed('')).toBeGreaterThan(1);
    expect(await deltasWhenFollowed('?deltas=false')).toBe(0);
  });

  it('keeps a run going when its streaming client drops, and cancels it when the client asked for that', async () => {
    const s = await listening({ app: testApp({ latencyMs: 30 }).app });
    const dropAfterFirstFrame = async (onDisconnect?: 'cancel') => {
      const response = await open(`${s.url}/runs`, {
        method: 'POST',
        headers: s.headers,
        body: JSON.stringify({ team: 'chain', goal: 'g', stream: true, ...(onDisconnect ? { onDisconnect } : {}) }),
      });
      const runId = response.headers['x-cadre-run-id'] as string;
      await new Promise((resolve) => response.once('data', resolve));
      response.socket.destroy();
      return runId;
    };
    const kept = await dropAfterFirstFrame();
    const cancelled = await dropAfterFirstFrame('cancel');
    const results = await Promise.all([kept, cancelled].map((id) => s.api.runs.handle(id)!.result));
    expect(results.map((r) => r.status)).toEqual(['completed', 'cancelled']);
  });

  it('runs one registered agent, and lists runs newest first with paging', async () => {
    const s = await listening();
    const ids: string[] = [];
    for (const goal of ['first', 'second', 'third']) {
      const response = await s.post('/runs', { agent: 'echo', goal, metadata: { goal } });
      expect(response.status).toBe(202);
      const body = (await response.json()) as { id: string; agent: string; metadata: unknown };
      expect(body).toMatchObject({ agent: 'echo', metadata: { goal } });
      ids.push(body.id);
      await s.api.runs.handle(body.id)?.result;
      await sleep(2); // distinct creation times
    }
    const page = (await (await fetch(`${s.url}/runs?limit=2`, { headers: s.headers })).json()) as {
      runs: Array<{ id: string; createdAt: number; status: string; result: { answer: string } }>;
    };
    expect(page.runs.map((r) => r.id)).toEqual([ids[2], ids[1]]);
    expect(page.runs[0]).toMatchObject({ status: 'completed', result: { answer: 'echo' } });
    const rest = (await (
      await fetch(`${s.url}/runs?limit=2&before=${page.runs[1]!.createdAt}`, { headers: s.headers })
    ).json()) as { runs: Array<{ id: string }> };
    expect(rest.runs.map((r) => r.id)).toEqual([ids[0]]);
  });
});

describe('POST /runs/:id/cancel and /approval', () => {
  it('cancels a running run at its next step; a second cancel is a conflict', async () => {
    const s = await listening({ app: testApp({ latencyMs: 50 }).app });
    const { id } = (await (await s.post('/runs', { team: 'chain', goal: 'g' })).json()) as { id: string };
    const response = await s.post(`/runs/${id}/cancel`, { reason: 'changed my mind' });
    expect(response.status).toBe(202);
    await until(async () => (await statusOf(s.url, s.headers, id)) === 'cancelled');
    const again = await s.post(`/runs/${id}/cancel`, {});
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: 'run_conflict' } });
    const cancelled = s.store.events.read(id).find((e) => e.type === 'run.cancelled');
    expect(cancelled).toMatchObject({ reason: expect.stringContaining('changed my mind') });
  });

  it('answers a plan gate as resume(runId, { decision }) does, streaming the rest of the run', async () => {
    const s = await listening();
    const { id } = (await (await s.post('/runs', { team: 'gated', goal: 'g' })).json()) as { id: string };
    await until(async () => (await statusOf(s.url, s.headers, id)) === 'awaiting_approval');
    const waiting = (await (await fetch(`${s.url}/runs/${id}`, { headers: s.headers })).json()) as {
      result: { approval: { kind: string } };
    };
    expect(waiting.result.approval.kind).toBe('plan_approval');
    const before = s.store.events.read(id).length;
    const response = await s.post(`/runs/${id}/approval`, { action: 'approve', stream: true });
    expect(response.status).toBe(200);
    const frames = parseFrames(await response.text());
    expect(frames[0]!.data.type).toBe('run.resumed');
    expect(frames.filter((f) => f.id).map((f) => f.data)).toEqual(s.store.events.read(id).slice(before));
    expect(frames.at(-1)!.data).toMatchObject({ type: 'stream.end', status: 'completed' });
    const twice = await s.post(`/runs/${id}/approval`, { action: 'approve' });
    expect(twice.status).toBe(409);
  });

  it('refuses an edit of a tool call and a decision for a run that waits for nothing', async () => {
    const s = await listening();
    const { id } = (await (await s.post('/runs', { agent: 'echo', goal: 'g' })).json()) as { id: string };
    await s.api.runs.handle(id)?.result;
    const response = await s.post(`/runs/${id}/approval`, { action: 'reject', reason: 'no' });
    expect(response.status).toBe(409);
    const bad = await s.post(`/runs/${id}/approval`, { action: 'maybe' });
    expect(bad.status).toBe(400);
  });
});

describe('a slow or departing client, and shutdown', () => {
  it('cuts off a client that stops reading, and it resumes by Last-Event-ID with nothing lost', async () => {
    const s = await listening({ server: { sseStallMs: 200 } });
    const runId = 'run_large';
    const keyId = (await s.api.keys.list())[0]!.id;
    s.store.runs.create({ id: runId, goal: 'large', settings: { owner: { key: keyId } } });
    // Some 16 MB of events: more than the socket buffers hold, so the writer must wait for the reader.
    for (let seq = 1; seq <= 2000; seq++)
      s.store.events.append({
        type: 'tool.progress',
        tool: 'blob',
        callId: 'c',
        progress: seq,
        message: 'x'.repeat(8000),
        runId,
        seq,
        ts: 0,
      });
    s.store.runs.update(runId, { status: 'completed', result: { status: 'completed' } });
    const response = await open(`${s.url}/runs/${runId}/events`, { headers: s.headers });
    response.pause();
    await sleep(1_000);
    let text = '';
    response.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await new Promise((resolve) => {
      response.once('close', resolve);
      response.resume();
    });
    const first = parseFrames(text);
    const stored = s.store.events.read(runId);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(stored.length);
    expect(first.some((f: Frame) => f.data.status === 'completed')).toBe(false);
    const rest = parseFrames(
      await (
        await fetch(`${s.url}/runs/${runId}/events`, {
          headers: { ...s.headers, 'Last-Event-ID': String(first.at(-1)!.id) },
        })
      ).text(),
    );
    const seen = [...first, ...rest].filter((f) => f.id !== undefined);
    expect(seen.map((f) => f.id)).toEqual(stored.map((e) => e.seq));
    expect(rest.at(-1)!.data).toMatchObject({ type: 'stream.end', status: 'completed' });
  }, 30_000);

  it('on shutdown stops running runs at their next step, ends their streams, and takes no more requests', async () => {
    const s = await listening({ app: testApp({ latencyMs: 40 }).app });
    const response = await s.post('/runs', { team: 'chain', goal: 'g', stream: true });
    const runId = response.headers.get('x-cadre-run-id')!;
    const reading = response.text();
    await until(() => s.store.events.read(runId).some((e) => e.type === 'task.completed'));
    await s.serving.close('test shutdown');
    serving = undefined;
    const frames = parseFrames(await reading);
    expect(frames.at(-2)!.data).toMatchObject({ type: 'run.completed', status: 'cancelled' });
    expect(frames.at(-1)!.data).toMatchObject({ type: 'stream.end', status: 'cancelled' });
    expect(s.store.runs.get(runId)!.status).toBe('cancelled');
    await expect(fetch(`${s.url}/health`, { headers: s.headers })).rejects.toThrow();
  });
});

describe('/openapi.json', () => {
  it('is a valid OpenAPI document listing every route, served without a key', async () => {
    const t = testApi();
    const response = await t.api.app.request('/openapi.json', { headers: { Host: '127.0.0.1:7700' } });
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      paths: Record<string, Record<string, unknown>>;
      components: { securitySchemes: unknown };
    };
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const routes = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /runs',
        'POST /runs',
        'GET /runs/{id}',
        'GET /runs/{id}/events',
        'POST /runs/{id}/cancel',
        'POST /runs/{id}/approval',
        'GET /threads',
        'POST /threads',
        'GET /threads/{id}',
        'POST /threads/{id}/messages',
        'GET /v1/models',
        'GET /v1/models/{model}',
        'POST /v1/chat/completions',
        'GET /jobs',
        'POST /jobs',
        'GET /jobs/{id}',
        'POST /jobs/{id}/cancel',
        'POST /jobs/{id}/retry',
        'POST /jobs/{id}/approval',
        'GET /schedules',
        'POST /schedules',
        'DELETE /schedules/{id}',
      ].sort(),
    );
    expect(document.components.securitySchemes).toMatchObject({ apiKey: { type: 'http', scheme: 'bearer' } });
  });
});
