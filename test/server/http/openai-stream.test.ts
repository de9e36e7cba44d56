import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineApp, withBuiltins } from 'cadre';
import { ScriptedChatModel } from 'cadre/testing';
import { serveHttpApi, type HttpApiServing } from '../../../src/server/http/index.js';
import { chainTeam } from '../../fixtures/cadre-app.js';
import { open, testApi } from './http-fixtures.js';

const answer = 'Streamed straight to the socket, a few characters at a time.';

const app = withBuiltins(
  defineApp({
    teams: { gated: () => ({ ...chainTeam({ tasks: 2, latencyMs: 0 }), approvePlan: true }) },
    agents: {
      talker: {
        agent: { name: 'talker', instructions: 'Answer.' },
        model: new ScriptedChatModel({ respond: () => answer, chunkSize: 5, chunkDelayMs: 15 }),
      },
      broken: {
        agent: { name: 'broken', instructions: 'Answer.' },
        model: new ScriptedChatModel({ respond: () => ({ error: new Error('the model fell over') }) }),
      },
    },
  }),
);

const t = testApi({ app, server: { port: 0 } });
const key = (await t.api.keys.create({ name: 'stream' })).key;
let serving: HttpApiServing;

beforeAll(async () => {
  serving = await serveHttpApi(t.api);
});
afterAll(() => serving.close());

const body = (model: string) => JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'go' }] });
const headers = () => ({ Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' });

/** The whole raw body of a streaming completion, read over a real socket with fetch. */
async function streamText(model: string): Promise<{ runId: string; raw: string }> {
  const response = await fetch(`${serving.url}/v1/chat/completions`, {
    method: 'POST',
    headers: headers(),
    body: body(model),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  return { runId: response.headers.get('x-cadre-run-id')!, raw: await response.text() };
}

/** The `data:` payloads of a raw SSE body that holds nothing but `data:` frames (and keep-alive comments). */
function dataFrames(raw: string): string[] {
  expect(raw).toMatch(/^(data: [^\n]+\n\n|: keep-alive\n\n)+$/);
  return raw
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice('data: '.length));
}

const textOf = (frames: string[]) =>
  frames
    .slice(0, -1)
    .map((f) => (JSON.parse(f) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
    .join('');

describe('a streaming chat completion served by Node', () => {
  it('sends data-only chunk frames whose text is the answer, ending with data: [DONE]', async () => {
    const { runId, raw } = await streamText('talker');
    const frames = dataFrames(raw);
    expect(frames.at(-1)).toBe('[DONE]');
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f) as Record<string, unknown>);
    expect(chunks.every((c) => c.id === `chatcmpl-${runId}` && c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.length).toBeGreaterThan(5);
    expect(textOf(frames)).toBe(answer);
  });

  it('sends the role chunk before the model has said anything', async () => {
    const response = await open(`${serving.url}/v1/chat/completions`, {
      method: 'POST',
      headers: headers(),
      body: body('talker'),
    });
    const first = await new Promise<string>((resolve) =>
      response.once('data', (bytes: Buffer) => resolve(String(bytes))),
    );
    response.socket.destroy();
    expect(first).toMatch(/^data: \{.*"delta":\{"role":"assistant","content":""\}/);
    expect(first).not.toContain('Streamed');
  });

  it('streams the approval prompt of a run that stops for approval, naming the run', async () => {
    const { runId, raw } = await streamText('gated');
    const frames = dataFrames(raw);
    expect(frames.at(-1)).toBe('[DONE]');
    expect(textOf(frames)).toMatch(/needs your approval of its plan[\s\S]*\[cadre approval: [^\]]+\]$/);
    expect(textOf(frames)).toContain(`[cadre approval: ${runId}]`);
    expect(t.store.runs.get(runId)!.status).toBe('awaiting_approval');
  });

  it("sends OpenAI's error frame, then [DONE], for a run that ends without an answer", async () => {
    const { raw } = await streamText('broken');
    const frames = dataFrames(raw);
    expect(frames.at(-1)).toBe('[DONE]');
    expect(JSON.parse(frames.at(-2)!)).toMatchObject({ error: { type: expect.any(String), code: 'run_failed' } });
  });

  it('lets the run go on to its answer when the client drops the stream', async () => {
    const response = await open(`${serving.url}/v1/chat/completions`, {
      method: 'POST',
      headers: headers(),
      body: body('talker'),
    });
    const runId = response.headers['x-cadre-run-id'] as string;
    await new Promise((resolve) => response.once('data', resolve));
    response.socket.destroy();
    const result = await t.api.runs.handle(runId)!.result;
    expect(result.status).toBe('completed');
    expect(result.answer).toBe(answer);
  });
});
