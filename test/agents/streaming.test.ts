import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { resume, run, type CadreEvent, type CadreEventOf } from 'cadre';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel, type ScriptedReply } from 'cadre/testing';

const offline = { ollamaHost: 'http://127.0.0.1:2' };
const echo = defineTool({
  name: 'echo',
  description: 'echoes',
  input: z.object({ text: z.string() }),
  effects: 'read',
  run: ({ text }) => `echo: ${text}`,
});
const agent = { name: 'writer', instructions: 'Answer, using echo when asked.', tools: [echo] };
const answer = 'Streaming works: this answer arrives a few characters at a time.';
const toolThenAnswer: ScriptedReply[] = [
  { toolCalls: [{ name: 'echo', args: { text: 'a call whose arguments span several chunks' } }] },
  answer,
];
const scripted = (replies: ScriptedReply[]) => new ScriptedChatModel({ replies, chunkDelayMs: 2 });

type Delta = CadreEventOf<'model.delta'>;
type Response = CadreEventOf<'model.response'>;

/** Every stored event, and every delta with the number of stored events seen before it. */
async function watch(handle: ReturnType<typeof run>) {
  const order: string[] = [];
  const deltas: Delta[] = [];
  handle.on('model.delta', (event) => {
    deltas.push(event);
    order.push(`delta ${event.step}`);
  });
  handle.on('model.response', (event) => order.push(`response ${event.step}`));
  const result = await handle.result;
  const stored: CadreEvent[] = [];
  for await (const event of handle.events()) stored.push(event);
  return { result, deltas, order, stored };
}

const responses = (events: CadreEvent[]) => events.filter((e): e is Response => e.type === 'model.response');

describe('token streaming through a run', () => {
  it('streams the answer to model.delta listeners before model.response, which holds the same text', async () => {
    const { result, deltas, order, stored } = await watch(
      run({ goal: 'answer', agent, model: scripted([answer]), config: offline }),
    );
    expect(result.status).toBe('completed');
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.every((d) => d.taskId === result.tasks[0]!.taskId && d.agent === 'writer' && d.step === 1)).toBe(
      true,
    );
    expect(order.at(-1)).toBe('response 1');
    expect(order.filter((o) => o === 'response 1')).toHaveLength(1);
    const [response] = responses(stored);
    expect(deltas.map((d) => d.text).join('')).toBe(response!.content);
    expect(response!.content).toBe(answer);
    expect(result.answer).toBe(answer);
    // Deltas are live only: the stored log has none.
    expect(stored.some((e) => e.type === 'model.delta')).toBe(false);
  });

  it('gives deltas to an iterator that asks for transient events, each after the stored event it follows', async () => {
    const handle = run({ goal: 'answer', agent, model: scripted([answer]), config: offline });
    const seen: CadreEvent[] = [];
    for await (const event of handle.events(1, { transient: true })) seen.push(event);
    const deltas = seen.filter((e): e is Delta => e.type === 'model.delta');
    const response = responses(seen)[0]!;
    expect(deltas.map((d) => d.text).join('')).toBe(response.content);
    expect(seen.indexOf(deltas.at(-1)!)).toBeLessThan(seen.indexOf(response));
    expect(deltas.every((d) => d.seq === response.seq - 1)).toBe(true);
  });

  it('streams a tool call as argument deltas that assemble to the recorded call', async () => {
    const { deltas, order, stored } = await watch(
      run({ goal: 'echo', agent, model: scripted(toolThenAnswer), config: offline }),
    );
    const calls = deltas.filter((d) => d.step === 1 && d.toolCall);
    expect(calls.length).toBeGreaterThan(3);
    const recorded = responses(stored)[0]!.toolCalls;
    expect(recorded).toHaveLength(1);
    expect(calls[0]!.toolCall).toMatchObject({ index: 0, name: 'echo' });
    expect(JSON.parse(calls.map((d) => d.toolCall!.argsDelta).join(''))).toEqual(recorded[0]!.args);
    // Step 1's deltas all come before its response, step 2's after it.
    expect(order.indexOf('response 1')).toBeGreaterThan(order.lastIndexOf('delta 1'));
    expect(order.indexOf('delta 2')).toBeGreaterThan(order.indexOf('response 1'));
    expect(
      deltas
        .filter((d) => d.step === 2)
        .map((d) => d.text)
        .join(''),
    ).toBe(answer);
  });

  it("does not stream when only a '*' listener is attached: the model is invoked, never streamed", async () => {
    const quiet = scripted(toolThenAnswer);
    const streamed = vi.spyOn(quiet, '_streamResponseChunks');
    const handle = run({ goal: 'echo', agent, model: quiet, config: offline });
    const all: CadreEvent[] = [];
    handle.on('*', (event) => all.push(event));
    const result = await handle.result;
    expect(result.answer).toBe(answer);
    expect(quiet.calls).toBe(2);
    expect(streamed).not.toHaveBeenCalled();
    expect(all.some((e) => e.type === 'model.delta')).toBe(false);

    // The same run with a delta listener does stream, so the spy above watches the right method.
    const loud = scripted(toolThenAnswer);
    const streaming = vi.spyOn(loud, '_streamResponseChunks');
    const watched = await watch(run({ goal: 'echo', agent, model: loud, config: offline }));
    expect(watched.result.answer).toBe(answer);
    expect(streaming).toHaveBeenCalledTimes(2);
  });

  it('emits no deltas for steps replayed after a resume; the steps called anew stream', async () => {
    const databasePath = join(mkdtempSync(join(tmpdir(), 'cadre-stream-')), 'cadre.db');
    const config = { ...offline, databasePath };
    const first = run({ goal: 'echo', agent, model: scripted(toolThenAnswer), config });
    first.on('tool.result', () => first.cancel('stopped after the tool call'));
    const stopped = await first.result;
    expect(stopped.status).toBe('cancelled');

    // The resumed model is asked only for step 2; step 1 and its tool call come from the journal.
    const resumed = scripted([answer]);
    const { result, deltas, stored } = await watch(resume(stopped.runId, { agent, model: resumed, config }));
    expect(result.status).toBe('completed');
    expect(resumed.calls).toBe(1);
    const replayed = responses(stored).filter((e) => e.replayed);
    expect(replayed.map((e) => e.step)).toEqual([1]);
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.every((d) => d.step === 2)).toBe(true);
    expect(deltas.map((d) => d.text).join('')).toBe(answer);
  });

  it('keeps the JSON tool protocol whole: with a delta listener the model is invoked and the answer is the same', async () => {
    const replies: ScriptedReply[] = [
      '{"tool_calls": [{"name": "echo", "arguments": {"text": "hi"}}]}',
      `{"answer": "${answer}"}`,
    ];
    const json = { ...agent, toolProtocol: 'json' as const };
    const model = scripted(replies);
    const streamed = vi.spyOn(model, '_streamResponseChunks');
    const { result, deltas, stored } = await watch(run({ goal: 'echo', agent: json, model, config: offline }));
    expect(result.answer).toBe(answer);
    expect(streamed).not.toHaveBeenCalled();
    expect(deltas).toEqual([]);
    expect(responses(stored).map((e) => e.toolCalls.map((c) => [c.name, c.args]))).toEqual([
      [['echo', { text: 'hi' }]],
      [],
    ]);
  });
});
