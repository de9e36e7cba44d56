import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineApp } from 'cadre';
import { createMemory, type Memory } from 'cadre/memory';
import { StaticPlanner } from 'cadre/planners';
import { ScriptedChatModel, type ScriptContext } from 'cadre/testing';
import { parseFrames, testApi } from './http-fixtures.js';

let memory: Memory;

const codeWord = /code word is ([A-Z]+-\d+)/g;
const textOf = (content: unknown) => (typeof content === 'string' ? content : JSON.stringify(content));

/**
 * The clerk: told a code word, it says it back (the task's result, which the run writes to memory);
 * asked for it, it answers with every code word in what it was sent, where only memory recall can
 * have put one (each question is asked in a new conversation).
 */
function respond({ task, messages }: ScriptContext): string {
  const told = /Remember this: my code word is ([A-Z]+-\d+)/.exec(task);
  if (told) return `Noted: your code word is ${told[1]}.`;
  const prompt = messages.map((m) => textOf(m.content)).join('\n');
  const found = [...new Set([...prompt.matchAll(codeWord)].map((m) => m[1]!))].sort();
  return `recalled: ${found.join(', ') || 'nothing'}`;
}

/** A team with memory: one task per goal, its instruction the goal. */
const app = defineApp({
  teams: {
    vault: () => ({
      roles: [{ name: 'clerk', description: 'remembers', agent: { name: 'clerk', instructions: 'Use memory.' } }],
      planner: new StaticPlanner((goal) => ({
        goal,
        tasks: [{ id: 't1', title: 'code word', instruction: goal, role: 'clerk', dependsOn: [] }],
      })),
      model: new ScriptedChatModel({ respond }),
      memory,
    }),
  },
});

const t = testApi({ app, server: { workers: 0 } });
const keyA = (await t.api.keys.create({ name: 'a' })).key;
const keyB = (await t.api.keys.create({ name: 'b' })).key;

beforeAll(async () => {
  memory = await createMemory({ dir: mkdtempSync(join(tmpdir(), 'cadre-http-memory-')), env: {} });
});
afterAll(async () => {
  await t.api.shutdown();
  await memory.close();
});

/** Who is asking: a key, and the end user named by the X-Cadre-User header or the OpenAI body's `user`. */
interface Principal {
  name: string;
  key: string;
  header?: string;
  bodyUser?: string;
  word: string;
}

const principals: Principal[] = [
  { name: 'key A', key: keyA, word: 'ALPHA-1111' },
  { name: 'key B', key: keyB, word: 'BRAVO-2222' },
  { name: 'ann on key A (X-Cadre-User)', key: keyA, header: 'ann', word: 'ANN-3333' },
  { name: 'ben on key A (body user)', key: keyA, bodyUser: 'ben', word: 'BEN-4444' },
];

const headersOf = (p: Principal) => t.headers(p.key, p.header ? { 'X-Cadre-User': p.header } : {});

/** One message on a new thread (the end user of a body `user` is named by the header here); the answer. */
async function viaThread(p: Principal, text: string): Promise<string> {
  const user = p.header ?? p.bodyUser;
  const headers = t.headers(p.key, user ? { 'X-Cadre-User': user } : {});
  const created = await t.api.app.request('/threads', {
    method: 'POST',
    headers,
    body: JSON.stringify({ team: 'vault' }),
  });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const posted = await t.api.app.request(`/threads/${id}/messages`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ text, stream: true }),
  });
  expect(posted.status).toBe(200);
  const completed = parseFrames(await posted.text()).find((f) => f.data.type === 'run.completed')!.data;
  expect(completed.status).toBe('completed');
  return String(completed.answer);
}

/** One chat completion holding only `text` (no earlier turns); the answer. */
async function viaChat(p: Principal, text: string): Promise<string> {
  const response = await t.api.app.request('/v1/chat/completions', {
    method: 'POST',
    headers: headersOf(p),
    body: JSON.stringify({
      model: 'vault',
      messages: [{ role: 'user', content: text }],
      ...(p.bodyUser ? { user: p.bodyUser } : {}),
    }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  return body.choices[0]!.message.content;
}

describe('memory is isolated per key and per end user, end to end over HTTP', () => {
  beforeAll(async () => {
    // Each tells its fact: key A and ann on threads, key B and ben over /v1.
    for (const [i, p] of principals.entries()) {
      const tell = i % 2 === 0 ? viaThread : viaChat;
      expect(await tell(p, `Remember this: my code word is ${p.word}`)).toBe(`Noted: your code word is ${p.word}.`);
    }
  });

  it('each recalls its own fact, and never another key’s or user’s, on a new thread and over /v1', async () => {
    const answers: Record<string, string[]> = {};
    for (const p of principals)
      answers[p.name] = [await viaThread(p, 'What is my code word?'), await viaChat(p, 'What is my code word?')];
    // Each of them sees exactly its own word, through either door.
    expect(answers).toEqual(
      Object.fromEntries(principals.map((p) => [p.name, [`recalled: ${p.word}`, `recalled: ${p.word}`]])),
    );
  });

  it('keeps the facts in the one shared memory, where a run without an owner does not see them either', async () => {
    // All four are stored (a recall without scoping would have found them all)...
    const stats = await memory.stats();
    expect(stats.vectors).toBeGreaterThanOrEqual(principals.length);
    // ...and memory's own scope, which a run with no owner uses, holds none of them.
    const found = await memory.recall('code word. What is my code word?');
    for (const p of principals) expect(found.text).not.toContain(p.word);
  });
});
