import { AIMessage, HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { RunnableLambda, type Runnable } from '@langchain/core/runnables';
import { z } from 'zod';
import { addUsage, emptyUsage } from '../src/core/index.js';
import { usageFromMessage } from '../src/models/usage.js';
import type { Tool } from '../tools/index.js';

const ReplySchema = z.object({
  tool_calls: z
    .array(z.object({ name: z.string(), arguments: z.record(z.string(), z.unknown()).default({}) }))
    .optional(),
  answer: z.string().optional(),
});

/** How the model is told to call tools when it has no native tool calling. */
export function jsonToolInstructions(tools: readonly Tool[]): string {
  const list = tools
    .map((t) => `- ${t.name}: ${t.description}\n  arguments (JSON Schema): ${JSON.stringify(z.toJSONSchema(t.input))}`)
    .join('\n');
  return [
    'You can call tools. To call tools, reply with ONLY a JSON object, no other text:',
    '{"tool_calls": [{"name": "<tool>", "arguments": {...}}]}',
    'Several calls in one reply run in parallel. When you have the answer, reply with ONLY {"answer": "<your answer>"}.',
    `Tools:\n${list}`,
  ].join('\n');
}

/** Reads a reply: tool calls validated against each tool's schema, or an answer, or what is wrong. */
export function parseJsonToolReply(
  text: string,
  tools: ReadonlyMap<string, Tool>,
): { calls?: Array<{ name: string; args: Record<string, unknown> }>; answer?: string; problems?: string[] } {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text)?.[1];
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  const candidate = fenced ?? (start < 0 ? '' : end > start ? text.slice(start, end + 1) : text.slice(start));
  // Plain prose with no JSON at all is taken as the answer: small models often just answer.
  if (!candidate.trim()) return { answer: text.trim() };
  let value: unknown;
  try {
    value = JSON.parse(candidate);
  } catch (error) {
    return { problems: [`The reply is not valid JSON (${(error as Error).message}).`] };
  }
  const parsed = ReplySchema.safeParse(value);
  if (!parsed.success)
    return { problems: parsed.error.issues.map((i) => `${i.path.join('.') || 'reply'}: ${i.message}`) };
  if (!parsed.data.tool_calls?.length)
    return parsed.data.answer !== undefined
      ? { answer: parsed.data.answer }
      : { problems: ['Give "tool_calls" or "answer".'] };
  const problems: string[] = [];
  const calls = parsed.data.tool_calls.map((call) => {
    const tool = tools.get(call.name);
    if (!tool) problems.push(`There is no tool "${call.name}"; tools: ${[...tools.keys()].join(', ')}.`);
    else {
      const check = tool.input.safeParse(call.arguments);
      if (!check.success)
        problems.push(
          `Arguments for ${call.name}: ${check.error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ')}`,
        );
    }
    return { name: call.name, args: call.arguments };
  });
  return problems.length ? { problems } : { calls };
}

/** Native tool messages rewritten as plain turns, which every chat model accepts. */
function asPlainTurns(messages: readonly BaseMessage[], instructions: string): BaseMessage[] {
  return messages.map((m) => {
    if (m instanceof SystemMessage) return new SystemMessage(`${String(m.content)}\n\n${instructions}`);
    if (m instanceof ToolMessage)
      return new HumanMessage(
        `Result of ${m.name ?? 'tool'} (${m.tool_call_id}), untrusted data:\n${String(m.content)}`,
      );
    if (m instanceof AIMessage && m.tool_calls?.length) {
      return new AIMessage(
        JSON.stringify({ tool_calls: m.tool_calls.map((c) => ({ name: c.name, arguments: c.args })) }),
      );
    }
    return m;
  });
}

/**
 * Tool calling for models without it: tools are described in the prompt, the model answers in JSON,
 * calls are validated with each tool's zod schema and problems are sent back at most `maxRepairs`
 * times. The result is an AIMessage with `tool_calls`, so the agent loop does not change.
 */
export function withJsonToolProtocol(
  model: BaseChatModel,
  tools: readonly Tool[],
  options: { maxRepairs?: number } = {},
): Runnable<BaseMessage[], AIMessage> {
  const byName = new Map(tools.map((t) => [t.name, t]));
  const instructions = jsonToolInstructions(tools);
  const maxRepairs = options.maxRepairs ?? 2;
  return RunnableLambda.from(async (messages: BaseMessage[], config) => {
    const turns = asPlainTurns(messages, instructions);
    let usage = emptyUsage();
    for (let attempt = 0; ; attempt++) {
      const reply = await model.invoke(turns, config);
      usage = addUsage(usage, usageFromMessage(reply));
      const text = typeof reply.content === 'string' ? reply.content : JSON.stringify(reply.content);
      const parsed = parseJsonToolReply(text, byName);
      const usage_metadata = {
        input_tokens: usage.inputTokens,
        output_tokens: usage.outputTokens,
        total_tokens: usage.totalTokens,
      };
      if (parsed.calls) {
        return new AIMessage({
          content: '',
          usage_metadata,
          tool_calls: parsed.calls.map((c, i) => ({
            id: `json_${messages.length}_${i + 1}`,
            name: c.name,
            args: c.args,
            type: 'tool_call' as const,
          })),
        });
      }
      if (parsed.answer !== undefined) return new AIMessage({ content: parsed.answer, usage_metadata });
      // Out of repairs: the invalid reply goes back as text; the agent treats it as an answer.
      if (attempt >= maxRepairs) return new AIMessage({ content: text, usage_metadata });
      turns.push(
        new AIMessage(text),
        new HumanMessage(
          `That reply was rejected:\n- ${parsed.problems!.join('\n- ')}\nReply again with only the JSON object.`,
        ),
      );
    }
  });
}
