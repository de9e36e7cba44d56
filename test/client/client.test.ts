import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CadreError, createClient, type CadreEvent, type ClientOptions } from 'cadre/client';
import type { CadreEventOf } from 'cadre';
import { serveHttpApi, type HttpApiServing } from '../../src/server/http/index.js';
import { testApi, testApp } from '../server/http/http-fixtures.js';
import { seeded } from '../fixtures/seeded.js';

const t = testApi({ app: testApp({ latencyMs: [5, 15], tasks: 6 }).app, server: { port: 0 } });
const key = (await t.api.keys.create({ name: 'client' })).key;
let serving: HttpApiServing;
let options: ClientOptions;

beforeAll(async () => {
  serving = await serveHttpApi(t.api);
  options = { baseURL: serving.url, apiKey: key };
});
afterAll(async () => serving.close());

/** The seqs of the stored events among `events` (the live `model.delta` events are not stored). */
const seqs = (events: CadreEvent[]) => events.filter((e) => e.type !== 'model.delta').map((e) => e.seq);
const storedSeqs = (runId: string) => t.store.events.read(runId).map((e) => e.seq);

/**
 * A fetch whose event streams break after a random number of bytes (mid-frame as often as not), as a
 * dropped connection does, `cuts` times; records the Last-Event-ID each reconnection sent.
 */
function cuttingFetch(cuts: number, seed: number) {
  const next = seeded(seed);
  const lastEventIds: Array<string | null> = [];
  let left = cuts;
  const cutting: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (!String(input).endsWith('/events')) return response;
    lastEventIds.push(new Headers(init?.headers).get('Last-Event-ID'));
    if (left-- <= 0 || !response.body) return response;
    let budget = 1 + Math.floor(next() * 3000);
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await reader.read();
        if (done) return controller.close();
        if (value.length < budget) {
          budget -= value.length;
          return controller.enqueue(value);
        }
        controller.enqueue(value.subarray(0, budget));
        await reader.cancel();
        controller.error(new TypeError('terminated'));
      },
      cancel: () => reader.cancel(),
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
  return { fetch: cutting, lastEventIds };
}

describe('cadre/client against a running server', () => {
  it('starts a run and follows its events to the final frame: exactly the stored log', async () => {
    const client = createClient(options);
    const run = await client.runs.create({ team: 'chain', goal: 'six tasks', metadata: { from: 'client' } });
    expect(run).toMatchObject({ status: 'running', team: 'chain', metadata: { from: 'client' } });
    const stream = client.runs.events(run.id);
    const events: CadreEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(stream.status).toBe('completed');
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'completed' });
    expect(seqs(events)).toEqual(storedSeqs(run.id));
    // Each reply came token by token first: its deltas, joined, are the text its model.response holds.
    const replies = events.filter(
      (e): e is CadreEventOf<'model.response'> => e.type === 'model.response' && e.content !== '',
    );
    expect(replies.length).toBeGreaterThan(0);
    for (const reply of replies) {
      const deltas = events.filter(
        (e): e is CadreEventOf<'model.delta'> =>
          e.type === 'model.delta' && e.taskId === reply.taskId && e.step === reply.step && e.seq < reply.seq,
      );
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.map((e) => e.text ?? '').join('')).toBe(reply.content);
    }
    expect((await client.runs.get(run.id)).status).toBe('completed');
    expect((await client.runs.list()).map((r) => r.id)).toContain(run.id);
  });

  it('reconnects with Last-Event-ID after dropped connections: no gap, no duplicate', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const cutting = cuttingFetch(4, seed);
      const client = createClient({ ...options, fetch: cutting.fetch });
      const run = await client.runs.create({ team: 'chain', goal: `cut ${seed}` });
      const stream = client.runs.events(run.id, { retryDelayMs: 5 });
      const events: CadreEvent[] = [];
      for await (const event of stream) events.push(event);
      expect(stream.status, `seed ${seed}`).toBe('completed');
      expect(stream.reconnects, `seed ${seed}`).toBe(4);
      expect(seqs(events), `seed ${seed}`).toEqual(storedSeqs(run.id));
      // Each reconnection asked for what follows the last event received before its cut (none only
      // while nothing had arrived yet).
      const sent = cutting.lastEventIds.slice(1);
      const firstId = sent.findIndex((id) => id !== null);
      expect(firstId, `seed ${seed}`).toBeGreaterThanOrEqual(0);
      const ids = sent.slice(firstId).map(Number);
      expect(ids.every((id, i) => id > 0 && (i === 0 || id >= ids[i - 1]!))).toBe(true);
      for (const id of ids) expect(seqs(events)).toContain(id);
    }
  });

  it('reads from a given seq, and ends a run waiting for approval there; approve resumes it', async () => {
    const client = createClient(options);
    const run = await client.runs.create({ team: 'gated', goal: 'approve me' });
    const first = client.runs.events(run.id);
    for await (const event of first) void event;
    expect(first.status).toBe('awaiting_approval');
    const waiting = await client.runs.get(run.id);
    expect(waiting.status).toBe('awaiting_approval');
    const resumed = await client.runs.approve(run.id, { action: 'approve' });
    expect(resumed.id).toBe(run.id);
    const rest = client.runs.events(run.id, { from: first.lastSeq! + 1 });
    const events: CadreEvent[] = [];
    for await (const event of rest) events.push(event);
    expect(rest.status).toBe('completed');
    expect(seqs(events)).toEqual(storedSeqs(run.id).filter((s) => s > first.lastSeq!));
  });

  it('cancels a running run; its stream ends with status cancelled', async () => {
    const slow = testApi({ app: testApp({ latencyMs: 40, tasks: 6 }).app, server: { port: 0 } });
    const served = await serveHttpApi(slow.api);
    try {
      const client = createClient({ baseURL: served.url, apiKey: (await slow.api.keys.create({ name: 'c' })).key });
      const run = await client.runs.create({ team: 'chain', goal: 'stop me' });
      const stream = client.runs.events(run.id);
      for await (const event of stream) if (event.type === 'task.completed') await client.runs.cancel(run.id, 'enough');
      expect(stream.status).toBe('cancelled');
      await expect(client.runs.cancel(run.id)).rejects.toMatchObject({ code: 'run_conflict' });
    } finally {
      await served.close();
    }
  });

  it("throws the server's error code as a CadreError, and does not retry what the caller must fix", async () => {
    const client = createClient(options);
    const missing = await client.runs.get('run_nope').catch((e: unknown) => e);
    expect(CadreError.isInstance(missing)).toBe(true);
    expect(missing).toMatchObject({ code: 'run_not_found', kind: 'user', details: { status: 404 } });
    await expect(client.runs.create({ team: 'nobody', goal: 'x' })).rejects.toMatchObject({
      code: 'team_not_found',
    });
    await expect(client.runs.create({ goal: 'x' })).rejects.toMatchObject({ code: 'input_invalid' });
    const wrongKey = createClient({ ...options, apiKey: 'cadre_nope' });
    await expect(wrongKey.runs.list()).rejects.toMatchObject({ code: 'auth_failed', details: { status: 401 } });
    let attempts = 0;
    const counting = createClient({
      ...options,
      fetch: (input, init) => (attempts++, fetch(input, init)),
    });
    await expect(async () => {
      for await (const event of counting.runs.events('run_nope')) void event;
    }).rejects.toMatchObject({ code: 'run_not_found' });
    expect(attempts).toBe(1);
    const down = createClient({ baseURL: 'http://127.0.0.1:9', apiKey: key });
    await expect(down.runs.list()).rejects.toMatchObject({ code: 'unavailable', kind: 'system' });
  });

  it('decodes characters whose bytes arrive in different chunks', async () => {
    // Every byte of the event stream in a chunk of its own.
    const byteByByte: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).endsWith('/events') || !response.body) return response;
      const reader = response.body.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { value, done } = await reader.read();
          if (done) return controller.close();
          for (const byte of value) controller.enqueue(Uint8Array.of(byte));
        },
        cancel: () => reader.cancel(),
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const client = createClient({ ...options, fetch: byteByByte });
    const goal = 'naïve café, 3 € — ✓ 🚀';
    const run = await client.runs.create({ agent: 'echo', goal });
    const events: CadreEvent[] = [];
    for await (const event of client.runs.events(run.id)) events.push(event);
    expect(events[0]).toMatchObject({ type: 'run.started', goal });
    expect(events).toEqual(t.store.events.read(run.id));
  });

  it("scopes runs to the client's user: another user's run is not found", async () => {
    const ann = createClient({ ...options, user: 'ann' });
    const bob = createClient({ ...options, user: 'bob' });
    const run = await ann.runs.create({ agent: 'echo', goal: 'hello' });
    expect(run.user).toBe('ann');
    expect((await ann.runs.list()).map((r) => r.id)).toContain(run.id);
    expect((await bob.runs.list()).map((r) => r.id)).not.toContain(run.id);
    await expect(bob.runs.get(run.id)).rejects.toMatchObject({ code: 'run_not_found' });
  });
});

describe('cadre/client threads', () => {
  it('opens a thread, sends two messages and reads the conversation back, each answer followed as events', async () => {
    const client = createClient(options);
    const thread = await client.threads.create({ agent: 'echo' });
    expect(thread).toMatchObject({ agent: 'echo', policy: 'enqueue' });
    for (const text of ['first question', 'second question']) {
      const posted = await client.threads.send(thread.id, text);
      expect(posted.message).toMatchObject({ role: 'user', text });
      const events: CadreEvent[] = [];
      for await (const event of client.runs.events(posted.runId)) events.push(event);
      expect(events.at(-1)?.type).toBe('run.completed');
    }
    const detail = await client.threads.get(thread.id);
    expect(detail.messages.map((m) => [m.role, m.text])).toEqual([
      ['user', 'first question'],
      ['assistant', 'echo'],
      ['user', 'second question'],
      ['assistant', 'echo'],
    ]);
    expect(detail.runs).toHaveLength(2);
    expect((await client.threads.list()).map((t) => t.id)).toContain(thread.id);
  });

  it('throws the server’s code for a thread this key may not see', async () => {
    const other = createClient({ ...options, user: 'someone-else' });
    const thread = await createClient({ ...options, user: 'owner' }).threads.create({ agent: 'echo' });
    await expect(other.threads.get(thread.id)).rejects.toMatchObject({ code: expect.stringMatching(/not_found/) });
  });
});
