import { ScriptedChatModel, type ScriptContext, type ScriptedToolCall } from '../testing/scripted-chat-model.js';

const quoted = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
const isExpression = (text: string) =>
  /^[\d\s+\-*/().,^%a-z]+$/i.test(text) && /\d/.test(text) && /[+\-*/^(]|\bto\b/.test(text);

/** The calls a task asks for, read from its wording and `backticked` expressions and paths. */
function callsFor(task: string, tools: readonly string[]): ScriptedToolCall[] {
  const calls: ScriptedToolCall[] = [];
  const has = (name: string) => tools.includes(name);
  for (const text of quoted(task)) {
    if (has('calculator') && isExpression(text)) calls.push({ name: 'calculator', args: { expression: text } });
    else if (has('read_file') && /\bread\b/i.test(task)) calls.push({ name: 'read_file', args: { path: text } });
    else if (has('list_dir') && /\b(list|folder|directory)\b/i.test(task))
      calls.push({ name: 'list_dir', args: { path: text } });
  }
  if (has('current_time') && /\b(time|date|today)\b/i.test(task))
    calls.push({ name: 'current_time', args: /\butc\b/i.test(task) ? { timeZone: 'UTC' } : {} });
  return calls;
}

/**
 * A scripted model for tool-use suites, not a language model: it calls the built-in tool a task's
 * wording points at (`calculator` for a `backticked` expression, `read_file` / `list_dir` for a
 * `backticked` path, `current_time` for the time) and answers with what the tools returned. It shows
 * that the tools, the agent loop and the checks work offline; it says nothing of a model's skill.
 */
export function toolScriptModel(options: { modelName?: string } = {}): ScriptedChatModel {
  return new ScriptedChatModel({
    modelName: options.modelName ?? 'tool-script',
    respond: ({ task, tools, toolResults, messages }: ScriptContext) => {
      const used = messages.some((m) => m.getType() === 'tool');
      if (!used) {
        const calls = callsFor(task, tools);
        if (calls.length) return { content: 'I will use the tools.', toolCalls: calls };
        return 'I have no tool for this.\nAnswer: unknown';
      }
      return `Answer: ${toolResults.map((r) => r.content).join('\n')}`;
    },
  });
}
