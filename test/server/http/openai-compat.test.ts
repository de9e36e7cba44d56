import { ChatOpenAI } from '@langchain/openai';
import { Validator } from '@seriousme/openapi-schema-validator';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineApp, withBuiltins } from 'cadre';
import { StaticPlanner } from 'cadre/planners';
import { ScriptedChatModel } from 'cadre/testing';
import { serveHttpApi, type HttpApiServing } from '../../../src/server/http/index.js';
import { chainTeam } from '../../fixtures/cadre-app.js';
import { testApi } from './http-fixtures.js';

const answer = 'The answer is forty-two, and it took a while to say.';

/** Answers from the conversation it was given, in small chunks a few ms apart. */
const talker = new ScriptedChatModel({
  chunkSize: 4,
  chunkDelayMs: 4,
  respond: ({ task }) => {
    if (!task.includes('<conversation>')) return answer;
    return /my name is (\w+)/i.exec(task)?.[1] ? `Your name is ${/my name is (\w+)/i.exec(task)![1]}.` : 'No name.';
  },
});

const app = withBuiltins(
  defineApp({
    teams: {
      chain: () => chainTeam({ tasks: 2, latencyMs: 0 }),
      // Two tasks nothing builds on: the answer joins both, so none of them streams on its own.
      pair: () => ({
        ...chainTeam({ latencyMs: 0 }),
        planner: new StaticPlanner({
          goal: 'two at once',
          tasks: ['t1', 't2'].map((id) => ({ id, title: id, instruction: `do ${id}`, role: 'worker', dependsOn: [] })),
        }),
      }),
      gated: () => ({ ...chainTeam({ tasks: 2, latencyMs: 0 }), approvePlan: true }),
    },
    agents: { talker: { agent: { name: 'talker', instructions: 'Answer the user.' }, model: talker } },
  }),
);

const t = testApi({ app, server: { port: 0 } });
const key = (await t.api.keys.create({ name: 'frontend' })).key;
let serving: HttpApiServing;
let client: OpenAI;

beforeAll(async () => {
  serving = await serveHttpApi(t.api);
  client = new OpenAI({ apiKey: key, baseURL: `${serving.url}/v1`, maxRetries: 0 });
});
afterAll(() => serving.close());

const ask = (content: string) => [{ role: 'user' as const, content }];
const runsOf = async (user?: string) => {
  const headers = { Authorization: `Bearer ${key}`, ...(user ? { 'X-Cadre-User': user } : {}) };
  const body = (await (await fetch(`${serving.url}/runs`, { headers })).json()) as {
    runs: Array<{ id: string; goal: string; user?: string }>;
  };
  return body.runs;
};

describe('/openapi.json', () => {
  it('documents the /v1 routes in a valid OpenAPI document', async () => {
    const document = (await (await fetch(`${serving.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(Object.keys(document.paths['/v1/chat/completions']!)).toEqual(['post']);
    expect(Object.keys(document.paths['/v1/models']!)).toEqual(['get']);
    expect(Object.keys(document.paths['/v1/models/{model}']!)).toEqual(['get']);
  });
});

describe('GET /v1/models', () => {
  it('lists every registered team and agent as a model', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models.map((m) => m.id).sort()).toEqual(['chain', 'demo', 'gated', 'pair', 'talker']);
    expect(models.find((m) => m.id === 'talker')).toMatchObject({ object: 'model', owned_by: 'cadre', kind: 'agent' });
    expect(await client.models.retrieve('demo')).toMatchObject({ id: 'demo', kind: 'team' });
  });
});

describe('POST /v1/chat/completions with the openai client', () => {
  it("answers with the run's answer and its usage, and names the committed run in X-Cadre-Run-Id", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'talker', messages: ask('What is the answer?') })
      .withResponse();
    const runId = response.headers.get('x-cadre-run-id')!;
    expect(data.id).toBe(`chatcmpl-${runId}`);
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('talker');
    expect(data.choices).toEqual([
      {
        index: 0,
        message: { role: 'assistant', content: answer, refusal: null },
        finish_reason: 'stop',
        logprobs: null,
      },
    ]);
    const record = t.store.runs.get(runId)!;
    expect(record).toMatchObject({ status: 'completed', goal: 'What is the answer?' });
    const usage = (record.result as { usage: { inputTokens: number; outputTokens: number; totalTokens: number } })
      .usage;
    expect(usage.totalTokens).toBeGreaterThan(0);
    expect(data.usage).toEqual({
      prompt_tokens: usage.inputTokens,
      completion_tokens: usage.outputTokens,
      total_tokens: usage.totalTokens,
    });
  });

  it('streams the answer in several chunks while the run is still going, then the usage and [DONE]', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'talker',
        messages: ask('What is the answer?'),
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    const runId = response.headers.get('x-cadre-run-id')!;
    const texts: string[] = [];
    let statusAtFirstText: string | undefined;
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      const text = chunk.choices[0]?.delta.content;
      if (!text) continue;
      statusAtFirstText ??= t.store.runs.get(runId)!.status;
      texts.push(text);
    }
    expect(texts.length).toBeGreaterThan(5);
    expect(texts.join('')).toBe(answer);
    // Deltas come from the model as it streams, not from the finished run.
    expect(statusAtFirstText).toBe('running');
    expect(chunks.every((c) => c.id === `chatcmpl-${runId}` && c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage!.total_tokens).toBeGreaterThan(0);
    expect(t.store.runs.get(runId)!.status).toBe('completed');
  });

  it('ends the raw stream with data: [DONE]', async () => {
    const response = await fetch(`${serving.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'talker', messages: ask('hi'), stream: true }),
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = (await response.text()).split('\n\n').filter((f) => f.startsWith('data: '));
    expect(frames.at(-1)).toBe('data: [DONE]');
    expect(frames.slice(0, -1).every((f) => !('usage' in JSON.parse(f.slice(6))))).toBe(true);
  });

  it("streams a team's final task as it speaks, its steps apart (the text before its tool call too)", async () => {
    const whole = await client.chat.completions.create({ model: 'chain', messages: ask('go') });
    expect(whole.choices[0]!.message.content).toBe('finished t2');
    const stream = await client.chat.completions.create({ model: 'chain', messages: ask('go'), stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('noting t2\n\nfinished t2');
  });

  it('streams the joined answer in pieces at the end when no single task gives it', async () => {
    const whole = await client.chat.completions.create({ model: 'pair', messages: ask('go') });
    expect(whole.choices[0]!.message.content).toMatch(/finished t1[\s\S]*finished t2/);
    const stream = await client.chat.completions.create({ model: 'pair', messages: ask('go'), stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(whole.choices[0]!.message.content);
  });

  it('gives earlier turns to the run as context, the last user message as its goal', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'talker',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello, my name is Ann.' },
          { role: 'assistant', content: 'Hello Ann.' },
          { role: 'user', content: [{ type: 'text', text: 'What is my name?' }] },
        ],
      })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('Your name is Ann.');
    const goal = t.store.runs.get(response.headers.get('x-cadre-run-id')!)!.goal;
    expect(goal.startsWith('What is my name?\n')).toBe(true);
    expect(goal).toMatch(
      /<conversation>\n\[system\]\nBe brief\.\n\n\[user\]\nHello, my name is Ann\.\n\n\[assistant\]\nHello Ann\.\n<\/conversation>$/,
    );
  });

  it('answers an unknown model with 404 in OpenAI error shape, which the client raises as NotFoundError', async () => {
    const before = t.store.runs.list(1000).length;
    const error = await client.chat.completions.create({ model: 'nope', messages: ask('hi') }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.status).toBe(404);
    expect(error.error).toEqual({
      message: expect.stringContaining("'nope'"),
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });
    await expect(client.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect(t.store.runs.list(1000).length).toBe(before);
  });

  it('refuses client tools (and functions) with a 400 naming them, starting no run', async () => {
    const before = t.store.runs.list(1000).length;
    const tool = { type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } };
    const error = await client.chat.completions
      .create({ model: 'talker', messages: ask('hi'), tools: [tool] })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.error).toMatchObject({ type: 'invalid_request_error', param: 'tools', code: 'tools_not_supported' });
    expect(error.error.message).toContain('CADRE_SERVE_OPENAI_TOOLS=ignore');
    const functions = await client.chat.completions
      .create({ model: 'talker', messages: ask('hi'), functions: [{ name: 'lookup' }] })
      .catch((e) => e);
    expect(functions).toBeInstanceOf(OpenAI.BadRequestError);
    expect(functions.error.param).toBe('functions');
    expect(t.store.runs.list(1000).length).toBe(before);
  });

  it('answers a missing or wrong API key in OpenAI error shape', async () => {
    const stranger = new OpenAI({ apiKey: 'not-a-key', baseURL: `${serving.url}/v1`, maxRetries: 0 });
    const error = await stranger.chat.completions.create({ model: 'talker', messages: ask('hi') }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error.error).toMatchObject({ type: 'authentication_error', code: 'auth_failed', param: null });
    const bare = await fetch(`${serving.url}/v1/models`);
    expect(bare.status).toBe(401);
    expect(await bare.json()).toEqual({
      error: { message: expect.any(String), type: 'authentication_error', param: null, code: 'auth_failed' },
    });
  });
});

describe('the user field', () => {
  it('keeps each end user of one key to their own runs', async () => {
    const ann = await client.chat.completions
      .create({ model: 'talker', messages: ask('ann asks'), user: 'ann' })
      .withResponse();
    const ben = await client.chat.completions
      .create({ model: 'talker', messages: ask('ben asks'), user: 'ben' })
      .withResponse();
    const annRun = ann.response.headers.get('x-cadre-run-id')!;
    const benRun = ben.response.headers.get('x-cadre-run-id')!;
    expect((await runsOf('ann')).map((r) => r.id)).toEqual([annRun]);
    expect((await runsOf('ben')).map((r) => r.id)).toEqual([benRun]);
    const crossed = await fetch(`${serving.url}/runs/${annRun}`, {
      headers: { Authorization: `Bearer ${key}`, 'X-Cadre-User': 'ben' },
    });
    expect(crossed.status).toBe(404);
    // The key itself (no user named) sees both.
    expect((await runsOf()).map((r) => r.id)).toEqual(expect.arrayContaining([annRun, benRun]));
  });

  it('must agree with X-Cadre-User when both are sent, and be a valid user id', async () => {
    const headers = { 'X-Cadre-User': 'ann' };
    const clash = await client.chat.completions
      .create({ model: 'talker', messages: ask('hi'), user: 'ben' }, { headers })
      .catch((e) => e);
    expect(clash).toBeInstanceOf(OpenAI.BadRequestError);
    expect(clash.error.param).toBe('user');
    const bad = await client.chat.completions
      .create({ model: 'talker', messages: ask('hi'), user: 'a b' })
      .catch((e) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.error.param).toBe('user');
  });
});

describe('LangChain ChatOpenAI pointed at the server', () => {
  it('streams a reply in several chunks', async () => {
    const model = new ChatOpenAI({
      model: 'talker',
      apiKey: key,
      configuration: { baseURL: `${serving.url}/v1` },
      maxRetries: 0,
    });
    const pieces: string[] = [];
    for await (const chunk of await model.stream('What is the answer?')) if (chunk.text) pieces.push(chunk.text);
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.join('')).toBe(answer);
  });
});

describe('requests a run cannot answer', () => {
  // In-process, with the Host of the listener the API now answers for.
  const headers = () => t.headers(key, { Host: new URL(serving.url).host });
  const post = (body: unknown) =>
    t.api.app.request('/v1/chat/completions', { method: 'POST', headers: headers(), body: JSON.stringify(body) });

  it('refuses a conversation that does not end with a user message, or sends an image', async () => {
    const last = await post({ model: 'talker', messages: [...ask('hi'), { role: 'assistant', content: 'yes?' }] });
    expect(last.status).toBe(400);
    expect(await last.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'messages' } });
    const image = await post({
      model: 'talker',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] }],
    });
    expect(image.status).toBe(400);
    expect(await image.json()).toMatchObject({ error: { param: 'messages[0].content' } });
    const malformed = await post({ model: 'talker', messages: [] });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'messages' } });
  });

  it('asks for a plan approval in the chat, and the next message approves it: the run goes on and answers', async () => {
    const first = await client.chat.completions.create({ model: 'gated', messages: ask('wait for me') });
    const prompt = first.choices[0]!.message.content!;
    const runId = first.id.replace(/^chatcmpl-/, '');
    expect(t.store.runs.get(runId)!.status).toBe('awaiting_approval');
    expect(prompt).toContain('needs your approval of its plan');
    expect(prompt).toContain(`[cadre approval: ${runId}]`);
    const messages = [...ask('wait for me'), { role: 'assistant' as const, content: prompt }, ...ask('approve')];
    const chunks: string[] = [];
    const stream = await client.chat.completions.create({ model: 'gated', messages, stream: true });
    for await (const chunk of stream) chunks.push(chunk.choices[0]?.delta.content ?? '');
    expect(t.store.runs.get(runId)!.status).toBe('completed');
    // The final task's words as it speaks them (its text before a tool call too), ending with the answer.
    expect(chunks.join('').endsWith((t.store.runs.get(runId)!.result as { answer: string }).answer)).toBe(true);
    // Answering again: the run no longer waits, so the answer is a conflict, not a second run.
    const again = await post({ model: 'gated', messages });
    expect(again.status).toBe(409);
  });

  it('a rejection in the chat stops the run, with its reason; any other reply starts a new run', async () => {
    const first = await client.chat.completions.create({ model: 'gated', messages: ask('wait again') });
    const prompt = first.choices[0]!.message.content!;
    const runId = first.id.replace(/^chatcmpl-/, '');
    const other = await client.chat.completions.create({
      model: 'gated',
      messages: [...ask('wait again'), { role: 'assistant', content: prompt }, ...ask('what is the plan?')],
    });
    expect(other.id).not.toBe(first.id);
    expect(t.store.runs.get(runId)!.status).toBe('awaiting_approval');
    const rejected = await client.chat.completions.create({
      model: 'gated',
      messages: [...ask('wait again'), { role: 'assistant', content: prompt }, ...ask('reject: not today')],
    });
    expect(rejected.id).toBe(first.id);
    expect(t.store.runs.get(runId)!.status).toBe('rejected');
    expect(rejected.choices[0]!.message.content).toMatch(/^Stopped: the run was rejected/);
  });

  it('ignores client tools when the server is set to (openaiTools: ignore)', async () => {
    const lenient = testApi({ app, server: { openaiTools: 'ignore' } });
    const lenientKey = (await lenient.api.keys.create()).key;
    const response = await lenient.api.app.request('/v1/chat/completions', {
      method: 'POST',
      headers: lenient.headers(lenientKey),
      body: JSON.stringify({
        model: 'talker',
        messages: ask('hi'),
        tools: [{ type: 'function', function: { name: 'f' } }],
      }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as OpenAI.ChatCompletion).choices[0]!.message.content).toBe(answer);
  });

  it('answers unknown /v1 paths in OpenAI error shape', async () => {
    const response = await t.api.app.request('/v1/embeddings', { method: 'POST', headers: headers(), body: '{}' });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({
      error: { type: 'invalid_request_error', param: null, code: 'not_found' },
    });
  });
});
