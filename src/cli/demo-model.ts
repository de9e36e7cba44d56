import { ScriptedChatModel, type ScriptContext, type ScriptedReply } from '../testing/index.js';

/**
 * The scripted model the demo and `cadre run --scripted` use when no real model is reachable.
 * It reads the goal the way a small model with tools would: a `backticked` arithmetic expression
 * goes to the calculator, a `backticked` path to list_dir, a question about time to current_time;
 * once the results are back it writes the answer from them. It is a script, not a language model.
 */
export function createDemoModel(options: { latencyMs?: number } = {}): ScriptedChatModel {
  return new ScriptedChatModel({ respond: respond, latencyMs: options.latencyMs ?? 120, modelName: 'scripted-demo' });
}

function respond(ctx: ScriptContext): ScriptedReply {
  if (ctx.call === 0 || ctx.toolResults.length === 0) {
    const toolCalls = plan(ctx.task, ctx.tools);
    if (toolCalls.length && !ctx.messages.some((m) => m.getType() === 'tool')) {
      return { content: 'I will use the tools for the parts I cannot know by myself.', toolCalls };
    }
  }
  const results = ctx.messages.filter((m) => m.getType() === 'tool');
  if (results.length === 0) return `I have no tools for this goal, so here is my best short answer: ${ctx.task}`;
  const lines = results.map((m) => {
    const name = (m as { name?: string }).name ?? 'tool';
    const text = typeof m.content === 'string' ? m.content : JSON.stringify(m.content);
    return `- ${describe(name, text)}`;
  });
  return `Here is what I found:\n${lines.join('\n')}`;
}

function plan(task: string, tools: readonly string[]) {
  const quoted = [...task.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
  const calls: { name: string; args: Record<string, unknown> }[] = [];
  for (const text of quoted) {
    if (/^[\d\s+\-*/().,^%a-z]+$/i.test(text) && /\d/.test(text) && tools.includes('calculator')) {
      calls.push({ name: 'calculator', args: { expression: text } });
    } else if (tools.includes('list_dir') && /^[\w./-]+$/.test(text)) {
      calls.push({ name: 'list_dir', args: { path: text } });
    }
  }
  if (/\b(time|date|today)\b/i.test(task) && tools.includes('current_time')) {
    calls.push({ name: 'current_time', args: /\butc\b/i.test(task) ? { timeZone: 'UTC' } : {} });
  }
  return calls;
}

function describe(tool: string, output: string): string {
  if (output.startsWith('Error')) return `${tool} failed: ${output}`;
  if (tool === 'calculator') return `the calculation gives ${output}`;
  if (tool === 'current_time') return `the current time is ${output}`;
  if (tool === 'list_dir') return `the folder holds: ${output.replace(/\s*\n\s*/g, ', ')}`;
  return `${tool} returned ${output}`;
}
