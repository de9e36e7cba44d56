import { AIMessage, HumanMessage, type AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { afterEach, describe, expect, it } from 'vitest';
import { RunEventStream, type CadreEventOf } from '../../src/core/index.js';
import {
  createOpenAICompatibleProvider,
  invokeModel,
  modelDeltas,
  streamModel,
  usageFromMessage,
} from '../../src/models/index.js';
import { startScriptedOpenAIServer, type ScriptOptions, type ScriptedServer } from '../fixtures/model-wire.js';

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function model(options: ScriptOptions) {
  server = await startScriptedOpenAIServer(options);
  return createOpenAICompatibleProvider({ baseURL: server.url, kind: 'local' }).chatModel('m') as unknown as Runnable<
    BaseMessage[],
    AIMessage
  >;
}

const ask = [new HumanMessage('Say hello')];
const quick = { retries: 2, baseDelayMs: 1 };

describe('streamModel', () => {
  it('hands each chunk on as it arrives and returns the reply invokeModel would', async () => {
    const answer = { kind: 'ok', text: 'Hello there, friend.', usage: { input: 8, output: 4 } } as const;
    const chat = await model({ script: [answer, answer] });
    const seen: AIMessageChunk[] = [];
    const streamed = await streamModel(chat, ask, { onChunk: (c) => seen.push(c), retry: quick });
    const invoked = await invokeModel(chat, ask, { retry: quick });
    expect(seen.filter((c) => c.text).length).toBeGreaterThan(3);
    expect(streamed).toBeInstanceOf(AIMessage);
    expect(streamed.content).toBe(invoked.content);
    expect(usageFromMessage(streamed)).toEqual(usageFromMessage(invoked));
  });

  it('retries a rate limit that comes before the first chunk', async () => {
    const chat = await model({
      script: [{ kind: 'status', status: 429, retryAfter: '0' }],
      fallback: { kind: 'ok', text: 'after the wait' },
    });
    const seen: string[] = [];
    const reply = await streamModel(chat, ask, { onChunk: (c) => seen.push(c.text), retry: quick });
    expect(reply.content).toBe('after the wait');
    expect(seen.join('')).toBe('after the wait');
    expect(server!.chatCalls()).toBe(2);
  });

  it('does not retry once part of the reply has been handed on', async () => {
    const chat = await model({ fallback: { kind: 'ok', text: 'abcdefghi', dropAfterChunks: 2 } });
    const seen: string[] = [];
    await expect(streamModel(chat, ask, { onChunk: (c) => seen.push(c.text), retry: quick })).rejects.toMatchObject({
      code: 'provider_error',
    });
    expect(seen.join('')).toBe('abcdef');
    expect(server!.chatCalls()).toBe(1);
  });

  it('feeds model.delta events to live listeners while the log keeps only the whole response', async () => {
    const chat = await model({ fallback: { kind: 'ok', text: 'Streaming into the run.' } });
    const events = new RunEventStream('run_s');
    const deltas: Array<CadreEventOf<'model.delta'>> = [];
    events.on('model.delta', (e) => deltas.push(e));
    const where = { taskId: 't1', agent: 'writer', step: 1 };
    const reply = await streamModel(chat, ask, {
      onChunk: (chunk) => modelDeltas(chunk, where).forEach((d) => events.emit(d)),
    });
    events.emit({
      type: 'model.response',
      ...where,
      model: 'm',
      content: String(reply.content),
      toolCalls: [],
      usage: usageFromMessage(reply),
      costUsd: 0,
      latencyMs: 0,
      replayed: false,
    });
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.map((d) => d.text).join('')).toBe('Streaming into the run.');
    expect(events.history().map((e) => e.type)).toEqual(['model.response']);
  });
});
