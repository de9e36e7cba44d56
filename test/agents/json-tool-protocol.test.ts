import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ReActAgent } from 'cadre/agents';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';
import { parseJsonToolReply } from '../../agents/json-tool-protocol.js';
import { agentContext } from '../fixtures/agent-context.js';

const add = defineTool({
  name: 'add',
  description: 'adds two numbers',
  input: z.object({ a: z.number(), b: z.number() }),
  effects: 'read',
  run: ({ a, b }) => String(a + b),
});

const context = (model: ScriptedChatModel) => agentContext(model, { runId: 'run_json' });

describe('JSON-in-text tool protocol', () => {
  it('lets a model without native tool calling use tools, repairing a bad call from the validation error', async () => {
    const seen: string[] = [];
    const model = new ScriptedChatModel({
      respond: ({ messages, call }) => {
        seen.push(messages.map((m) => `${m.getType()}: ${String(m.content)}`).join('\n'));
        if (call === 0) return '{"tool_calls": [{"name": "add", "arguments": {"a": "two", "b": 3}}]}';
        if (call === 1) return '```json\n{"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]}\n```';
        return '{"answer": "2 + 3 = 5"}';
      },
    });
    const agent = new ReActAgent({ name: 'calc', instructions: 'Use tools.', tools: [add], toolProtocol: 'json' });
    const result = await agent.run({ id: 't', instruction: 'What is 2 + 3?' }, context(model));
    expect(result.answer).toBe('2 + 3 = 5');
    expect(seen[0]).toMatch(/reply with ONLY a JSON object[\s\S]*- add: adds two numbers/);
    expect(seen[1]).toMatch(/rejected:\n- Arguments for add: a: .*number/);
    expect(seen[2]).toMatch(
      /human: Result of add \(json_\d+_1\), untrusted data:\n<tool_output tool="add" untrusted="true" id="([0-9a-f]+)">\n5\n<\/tool_output id="\1">/,
    );
    expect(result.steps).toBe(2); // the repair is part of the first step
  });

  it('reads prose as an answer and names unknown tools', () => {
    const tools = new Map([['add', add]]);
    expect(parseJsonToolReply('The answer is 5.', tools)).toEqual({ answer: 'The answer is 5.' });
    expect(parseJsonToolReply('{"tool_calls":[{"name":"mul","arguments":{}}]}', tools).problems?.[0]).toMatch(
      /no tool "mul"; tools: add/,
    );
    expect(parseJsonToolReply('{"tool_calls": [', tools).problems?.[0]).toMatch(/not valid JSON/);
  });
});
