import { setTimeout as sleep } from 'node:timers/promises';
import { getEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineApp, openCadreStore, withBuiltins, type CadreApp } from 'cadre';
import { ScriptedChatModel, type ScriptContext } from 'cadre/testing';
import { defineTool } from 'cadre/tools';
import { createHttpApi, serveHttpApi } from '../../../src/server/http/index.js';
import { historyHeading, messageHeading } from '../../../src/server/http/thread-context.js';
import { parseFrames, testApi } from './http-fixtures.js';

/** Every task text a model of the test app was given, by agent. */
const seen = { chat: [] as string[], slow: [] as string[] };
let summaries = 0;

const isSummaryCall = ({ messages }: ScriptContext) =>
  messages.some((m) => m.getType() === 'system' && String(m.content).startsWith('You keep a running summary'));

/** Folds messages into a summary naming every `fact-N` they mention. */
function summarise({ task }: ScriptContext): string {
  summaries++;
  const facts = [...new Set(task.match(/fact-\d+/g) ?? [])];
  return `Earlier the user gave ${facts.join(', ') || 'nothing'}.`;
}

const note = defineTool({
  name: 'note',
  description: 'Notes a step.',
  input: z.object({ step: z.string() }),
  effects: 'read',
  run: ({ step }) => `noted ${step}`,
});

function app(): CadreApp {
  return withBuiltins(
    defineApp({
      agents: {
        // Answers at once, saying what it was asked last.
        chat: () => ({
          agent: { name: 'chat', instructions: 'Chat.' },
          model: new ScriptedChatModel({
            respond: (context) => {
              if (isSummaryCall(context)) return summarise(context);
              seen.chat.push(context.task);
              return `reply to: ${context.task.split(messageHeading).at(-1)}`;
            },
          }),
        }),
        // Three model calls of 120 ms each, with a tool call between: long enough to send a second message.
        slow: () => ({
          agent: { name: 'slow', instructions: 'Work in steps.', tools: [note] },
          model: new ScriptedChatModel({
            latencyMs: 120,
            respond: (context) => {
              const asked = context.task.split(messageHeading).at(-1)!;
              if (context.call === 0) seen.slow.push(context.task);
              const tools = context.messages.filter((m) => m.getType() === 'tool').length;
              if (tools < 2)
                return {
                  content: `working on ${asked} (${tools})`,
                  toolCalls: [{ name: 'note', args: { step: String(tools) } }],
                };
              return `finished ${asked}`;
            },
          }),
        }),
      },
    }),
  );
}

/** The fields of the API's answers the tests read. */
interface Body {
  id: string;
  runId: string;
  queued: boolean;
  summary?: string;
  error?: { code: string };
  message: { role: string; text: string; status: string };
  messages: Array<{ role: string; text: string; runId?: string; status: string }>;
  runs: Array<{ id: string; status: string }>;
  threads: Array<{ id: string }>;
  [key: string]: unknown;
}

async function harness() {
  const t = testApi({ app: app() });
  const key = (await t.api.keys.create({ name: 'alice' })).key;
  const call = async (path: string, init: { method?: string; body?: unknown; key?: string; user?: string } = {}) => {
    const response = await t.api.app.request(path, {
      method: init.method ?? 'GET',
      headers: t.headers(init.key ?? key, init.user ? { 'X-Cadre-User': init.user } : {}),
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Body };
  };
  const open = async (body: Record<string, unknown>, user?: string) => {
    const { status, body: thread } = await call('/threads', { method: 'POST', body, ...(user ? { user } : {}) });
    expect(status).toBe(201);
    return thread.id;
  };
  const say = (id: string, text: string, more: Record<string, unknown> = {}, user?: string) =>
    call(`/threads/${id}/messages`, { method: 'POST', body: { text, ...more }, ...(user ? { user } : {}) });
  /** Waits until the run has ended (and the thread, having written its reply, moved on). */
  const settled = async (runId: string) => {
    await t.api.runs.handle(runId)?.result;
    await sleep(5);
  };
  const thread = async (id: string, user?: string) => (await call(`/threads/${id}`, user ? { user } : {})).body;
  const until = async (check: () => boolean, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error('timed out');
      await sleep(5);
    }
  };
  const hasEvent = (runId: string, type: string) => t.store.events.read(runId).some((e) => e.type === type);
  return { ...t, key, call, open, say, settled, thread, until, hasEvent };
}

describe('a conversation on a thread', () => {
  it('starts a run per message whose goal holds the earlier turns, and keeps every message with its run', async () => {
    const h = await harness();
    const id = await h.open({ agent: 'chat', metadata: { topic: 'names' } });
    const first = await h.say(id, 'my name is Ada');
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({
      queued: false,
      message: { role: 'user', text: 'my name is Ada', status: 'started' },
    });
    expect(first.body.run).toMatchObject({ id: first.body.runId, metadata: { threadId: id } });
    await h.settled(first.body.runId);
    expect(seen.chat.at(-1)).toBe('my name is Ada');

    const second = await h.say(id, 'what is my name?');
    await h.settled(second.body.runId);
    const task = seen.chat.at(-1)!;
    expect(task).toContain('user: my name is Ada');
    expect(task).toContain('assistant: reply to: my name is Ada');
    expect(task.endsWith(`${messageHeading}what is my name?`)).toBe(true);

    const detail = await h.thread(id);
    expect(detail).toMatchObject({ id, agent: 'chat', policy: 'enqueue', metadata: { topic: 'names' } });
    expect(detail.messages.map((m) => [m.role, m.text, m.runId, m.status])).toEqual([
      ['user', 'my name is Ada', first.body.runId, 'started'],
      ['assistant', 'reply to: my name is Ada', first.body.runId, 'completed'],
      ['user', 'what is my name?', second.body.runId, 'started'],
      ['assistant', 'reply to: what is my name?', second.body.runId, 'completed'],
    ]);
    expect(detail.runs.map((r) => [r.id, r.status])).toEqual([
      [first.body.runId, 'completed'],
      [second.body.runId, 'completed'],
    ]);
  });

  it('trims and summarises a conversation longer than its window, never sending the history over it', async () => {
    const h = await harness();
    const window = 120;
    const id = await h.open({ agent: 'chat', contextTokens: window });
    const before = seen.chat.length;
    const filler = 'the quick brown fox jumps over the lazy dog again and again';
    for (let i = 1; i <= 8; i++) {
      const posted = await h.say(id, `fact-${i}: ${filler}`);
      await h.settled(posted.body.runId);
    }
    const enc = getEncoding('cl100k_base');
    const tasks = seen.chat.slice(before);
    expect(tasks).toHaveLength(8);
    for (const task of tasks.slice(1)) {
      const history = task.slice(historyHeading.length, task.indexOf(`\n\n${messageHeading}`));
      expect(enc.encode(history).length).toBeLessThanOrEqual(window);
    }
    const last = tasks.at(-1)!;
    // The first turns left the window verbatim but live on in the summary.
    expect(last).not.toContain(`fact-1: ${filler}`);
    expect(last).toContain('Summary of the earlier conversation:');
    expect(last).toMatch(/Earlier the user gave fact-1, /);
    expect(last).toContain(`user: fact-7: ${filler}`);
    expect(summaries).toBeGreaterThan(0);
    expect((await h.thread(id)).summary).toMatch(/^Earlier the user gave fact-1/);
  });

  it('answers with the run as SSE at once when asked to stream', async () => {
    const h = await harness();
    const id = await h.open({ agent: 'chat' });
    const response = await h.api.app.request(`/threads/${id}/messages`, {
      method: 'POST',
      headers: h.headers(h.key),
      body: JSON.stringify({ text: 'hello', stream: true }),
    });
    expect(response.status).toBe(200);
    const runId = response.headers.get('x-cadre-run-id')!;
    const frames = parseFrames(await response.text());
    expect(frames.filter((f) => f.id).map((f) => f.data)).toEqual(h.store.events.read(runId));
    expect(frames.at(-1)!.data).toMatchObject({ type: 'stream.end', status: 'completed' });
    expect((await h.thread(id)).messages.map((m) => m.runId)).toEqual([runId, runId]);
  });
});

describe('a message that arrives while the previous run is going', () => {
  it('reject: answers 409 and stores nothing', async () => {
    const h = await harness();
    const id = await h.open({ agent: 'slow', policy: 'reject' });
    const first = await h.say(id, 'first');
    const second = await h.say(id, 'second');
    expect(second.status).toBe(409);
    expect(second.body.error?.code).toBe('run_conflict');
    await h.settled(first.body.runId);
    expect((await h.thread(id)).messages.map((m) => m.text)).toEqual(['first', 'finished first']);
  });

  it('enqueue (the default): runs after the current run, with its answer in context', async () => {
    const h = await harness();
    const id = await h.open({ agent: 'slow' });
    const first = await h.say(id, 'first');
    const second = await h.say(id, 'second');
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ queued: true, message: { status: 'queued' } });
    expect(h.store.runs.get(second.body.runId)).toBeUndefined();
    await h.settled(first.body.runId);
    await h.until(() => h.store.runs.get(second.body.runId)?.status === 'completed');
    await h.settled(second.body.runId);
    const [run1, run2] = [h.store.runs.get(first.body.runId)!, h.store.runs.get(second.body.runId)!];
    expect(run2.createdAt).toBeGreaterThanOrEqual(run1.updatedAt);
    expect(seen.slow.at(-1)).toContain('assistant: finished first');
    expect((await h.thread(id)).messages.map((m) => [m.role, m.text, m.status])).toEqual([
      ['user', 'first', 'started'],
      ['user', 'second', 'started'],
      ['assistant', 'finished first', 'completed'],
      ['assistant', 'finished second', 'completed'],
    ]);
  });

  it('enqueue with stream: the queued message streams its run once it starts', async () => {
    const h = await harness();
    const id = await h.open({ agent: 'slow' });
    await h.say(id, 'first');
    const response = await h.api.app.request(`/threads/${id}/messages`, {
      method: 'POST',
      headers: h.headers(h.key),
      body: JSON.stringify({ text: 'second', stream: true }),
    });
    const runId = response.headers.get('x-cadre-run-id')!;
    const frames = parseFrames(await response.text());
    expect(frames[0]!.data).toMatchObject({ type: 'run.started', runId, seq: 1 });
    expect(frames.at(-1)!.data).toMatchObject({ type: 'stream.end', status: 'completed' });
  });

  it('interrupt: stops the current run at its next step, keeps its partial turn, and answers with it in context', async () => {
    const h = await harness();
    const id = await h.open({ agent: 'slow' });
    const first = await h.say(id, 'first');
    await h.until(() => h.hasEvent(first.body.runId, 'tool.result'));
    const second = await h.say(id, 'second', { policy: 'interrupt' });
    expect(second.body).toMatchObject({ queued: false });
    expect(h.store.runs.get(first.body.runId)!.status).toBe('cancelled');
    await h.settled(second.body.runId);
    const task = seen.slow.at(-1)!;
    expect(task).toContain('user: first');
    expect(task).toMatch(/assistant: \(interrupted\) working on first \(0\)/);
    const messages = (await h.thread(id)).messages;
    expect(messages.map((m) => [m.role, m.runId, m.status])).toEqual([
      ['user', first.body.runId, 'started'],
      ['assistant', first.body.runId, 'cancelled'],
      ['user', second.body.runId, 'started'],
      ['assistant', second.body.runId, 'completed'],
    ]);
    expect(messages[1]!.text).toContain('[note] noted 0');
  });

  it('rollback: cancels the current run, drops its turn, and starts over with the new message', async () => {
    const h = await harness();
    const id = await h.open({ agent: 'slow', policy: 'rollback' });
    const earlier = await h.say(id, 'earlier');
    await h.settled(earlier.body.runId);
    const first = await h.say(id, 'first');
    await h.until(() => h.hasEvent(first.body.runId, 'tool.result'));
    const second = await h.say(id, 'second');
    expect(h.store.runs.get(first.body.runId)!.status).toBe('cancelled');
    await h.settled(second.body.runId);
    const task = seen.slow.at(-1)!;
    expect(task).toContain('user: earlier');
    expect(task).not.toContain('first');
    expect((await h.thread(id)).messages.map((m) => [m.role, m.text, m.status])).toEqual([
      ['user', 'earlier', 'started'],
      ['assistant', 'finished earlier', 'completed'],
      ['user', 'first', 'rolled_back'],
      ['user', 'second', 'started'],
      ['assistant', 'finished second', 'completed'],
    ]);
  });
});

describe('who sees which thread', () => {
  it("answers 404 for another key's or another user's thread on every thread endpoint, and lists only one's own", async () => {
    const h = await harness();
    const bob = (await h.api.keys.create({ name: 'bob' })).key;
    const alices = await h.open({ agent: 'chat' });
    const bobs = (await h.call('/threads', { method: 'POST', key: bob, body: { agent: 'chat' } })).body.id;
    const ann = await h.open({ agent: 'chat' }, 'ann');
    const ben = await h.open({ agent: 'chat' }, 'ben');
    const probes = (id: string) => [
      { path: `/threads/${id}` },
      { path: `/threads/${id}/messages`, method: 'POST', body: { text: 'hi' } },
      { path: `/threads/${id}/messages`, method: 'POST', body: { text: 'hi', stream: true } },
    ];
    const denied = [
      ...probes(bobs).map((p) => ({ ...p, key: h.key })),
      ...probes(alices).map((p) => ({ ...p, key: bob })),
      ...probes(ben).map((p) => ({ ...p, user: 'ann' })),
      ...probes(ann).map((p) => ({ ...p, user: 'ben' })),
      ...probes('thread_nosuchthing').map((p) => ({ ...p })),
    ];
    for (const probe of denied) {
      const { status, body } = await h.call(probe.path, probe);
      expect([probe.path, status, body.error?.code]).toEqual([probe.path, 404, 'not_found']);
    }
    const ids = async (init: { key?: string; user?: string }) =>
      ((await h.call('/threads', init)).body.threads as Array<{ id: string }>).map((t) => t.id).sort();
    expect(await ids({ user: 'ann' })).toEqual([ann]);
    expect(await ids({ key: bob })).toEqual([bobs]);
    expect(await ids({})).toEqual([alices, ann, ben].sort());
    // Nothing was stored by the refused messages.
    for (const id of [alices, bobs, ann, ben])
      expect(h.store.db.prepare('SELECT COUNT(*) AS n FROM thread_messages WHERE thread_id = ?').get(id)).toEqual({
        n: 0,
      });
    // The runs of a user's thread are that user's runs.
    const posted = await h.say(ann, 'mine', {}, 'ann');
    await h.settled(posted.body.runId);
    expect((await h.call(`/runs/${posted.body.runId}`, { user: 'ben' })).status).toBe(404);
    expect((await h.call(`/runs/${posted.body.runId}`, { user: 'ann' })).status).toBe(200);
  });

  it('refuses bad input with a code: an unknown agent, an unknown field, no key', async () => {
    const h = await harness();
    expect((await h.call('/threads', { method: 'POST', body: { agent: 'nobody' } })).body.error?.code).toBe(
      'team_not_found',
    );
    expect((await h.call('/threads', { method: 'POST', body: { agent: 'chat', colour: 'red' } })).status).toBe(400);
    expect((await h.call('/threads', { method: 'POST', body: { agent: 'chat', policy: 'shout' } })).status).toBe(400);
    const response = await h.api.app.request('/threads', { headers: h.headers() });
    expect(response.status).toBe(401);
  });
});

describe('durability', () => {
  it('keeps threads and messages across a store reopen, and a new server answers them', async () => {
    const h = await harness();
    const id = await h.open({ agent: 'chat', policy: 'interrupt' });
    const posted = await h.say(id, 'remember me');
    await h.settled(posted.body.runId);
    const before = await h.thread(id);
    h.store.close();
    const reopened = openCadreStore({ path: h.config.databasePath });
    const api = createHttpApi({ app: app(), config: h.config });
    const response = await api.app.request(`/threads/${id}`, { headers: h.headers(h.key) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(before);
    expect(reopened.db.prepare('SELECT COUNT(*) AS n FROM thread_messages WHERE thread_id = ?').get(id)).toEqual({
      n: 2,
    });
    reopened.close();
  });

  it('a message left queued by a server that stopped is started, and answered, by the next one', async () => {
    const h = await harness();
    const id = await h.open({ agent: 'slow' });
    const first = await h.say(id, 'first');
    const second = await h.say(id, 'second');
    expect(second.body).toMatchObject({ queued: true });
    // The server stops while the first turn runs: that run is cancelled, the second message stays queued.
    await h.api.shutdown('test stop');
    await h.settled(first.body.runId);
    expect(h.store.runs.get(second.body.runId)).toBeUndefined();
    const next = createHttpApi({ app: app(), config: h.config, server: { port: 0, workers: 0 } });
    const serving = await serveHttpApi(next);
    try {
      await h.until(() => h.store.runs.get(second.body.runId)?.status === 'completed');
      await next.runs.handle(second.body.runId)?.result;
      await h.until(() => h.store.events.read(second.body.runId).some((e) => e.type === 'run.completed'));
      const messages = (await h.thread(id)).messages.map((m) => [m.role, m.text]);
      expect(messages).toContainEqual(['user', 'second']);
      expect(messages).toContainEqual(['assistant', 'finished second']);
    } finally {
      await serving.close();
    }
  });
});
