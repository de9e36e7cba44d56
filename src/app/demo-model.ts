import { unwrapUntrusted } from '../../tools/index.js';
import { createPolicyRouter } from '../models/policy-router.js';
import { poolModel, type ModelEntryInput } from '../models/pool.js';
import type { ModelRouter } from '../models/router.js';
import { ScriptedChatModel, type ScriptContext, type ScriptedReply } from '../testing/index.js';

/**
 * The scripted model the demo and `cadre run --scripted` use when no real model is reachable. It
 * reads prompts the way a small model with tools would: it plans a goal into tasks (one per
 * `backticked` expression or path, one for the time, a check and a write-up), sends a `backticked`
 * arithmetic expression to the calculator, a `backticked` path to list_dir, a question about time
 * to current_time, and writes answers from the results. Its first answer to a calculation leaves
 * out the number — the mistake a Reflexion evaluator catches — unless a lesson says otherwise.
 * It is a script, not a language model.
 */
export function createDemoModel(options: { latencyMs?: number; modelName?: string } = {}): ScriptedChatModel {
  return new ScriptedChatModel({
    respond,
    latencyMs: options.latencyMs ?? 120,
    chunkDelayMs: 5,
    modelName: options.modelName ?? 'scripted-demo',
  });
}

/**
 * The scripted run's model pool, so the demo shows routing: a small model standing in for a local
 * GPU model and a large one standing in for a priced cloud model (both scripted, both offline). The
 * default rules plan and reflect with the large one and send the rest to the small one.
 */
export function createDemoRouter(): ModelRouter {
  const entry = (id: string, more: Partial<ModelEntryInput>) => ({
    model: poolModel({ id, provider: 'local', model: id, capabilities: { tools: true, json: true }, ...more }),
    chat: createDemoModel({ modelName: id }),
  });
  return createPolicyRouter({
    models: [
      entry('scripted-small', { location: 'local', strength: 3 }),
      entry('scripted-large', { location: 'cloud', strength: 9, price: { input: 2.5, output: 10 } }),
    ],
  });
}

const quoted = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
const isExpression = (text: string) =>
  /^[\d\s+\-*/().,^%a-z]+$/i.test(text) && /\d/.test(text) && !/^[\w./-]+$/.test(text);
const isPath = (text: string) => /^[\w./-]+$/.test(text) && !/^\d+$/.test(text);
const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40) || 'folder';
const systemText = (ctx: ScriptContext) => String(ctx.messages[0]?.content ?? '');

function respond(ctx: ScriptContext): ScriptedReply {
  if (ctx.tools.includes('submit_plan'))
    return { content: 'Here is the plan.', toolCalls: [{ name: 'submit_plan', args: planFor(ctx.task) }] };
  if (/review failed attempts/.test(systemText(ctx)))
    return 'State the computed number itself in the answer, not only that the work was done.';
  const task = ctx.task.split('## Task\n').at(-1) ?? ctx.task;
  const results = ctx.messages.filter((m) => m.getType() === 'tool');
  if (results.length === 0) {
    const calls = toolCallsFor(task, ctx.tools);
    if (calls.length)
      return { content: 'I will use the tools for the parts I cannot know by myself.', toolCalls: calls };
    if (/Results of the tasks this one builds on/.test(ctx.task)) return writeUp(ctx.task);
    return `I have no tools for this, so here is my best short answer: ${task}`;
  }
  const learned = /Lesson|Lessons from earlier attempts/.test(ctx.task);
  if (/^Work out/.test(task) && !learned) return 'I worked it out with the calculator.';
  const lines = results.map(
    (m) =>
      `- ${describe((m as { name?: string }).name ?? 'tool', unwrapUntrusted(typeof m.content === 'string' ? m.content : JSON.stringify(m.content)))}`,
  );
  return `Here is what I found:\n${lines.join('\n')}`;
}

/** A plan with parallel fact-finding, a check on the calculation and a final write-up. */
function planFor(goal: string) {
  const tasks: Array<{ id: string; title: string; instruction: string; role: string; dependsOn: string[] }> = [];
  quoted(goal).forEach((text, i) => {
    if (isExpression(text)) {
      tasks.push({
        id: `compute-${i + 1}`,
        title: `Work out ${text}`,
        instruction: `Work out \`${text}\` with the calculator and state the number.`,
        role: 'coder',
        dependsOn: [],
      });
      tasks.push({
        id: `check-${i + 1}`,
        title: `Check ${text}`,
        instruction: `Check the result for \`${text}\` by computing it again.`,
        role: 'critic',
        dependsOn: [`compute-${i + 1}`],
      });
    } else if (isPath(text)) {
      tasks.push({
        id: `list-${slug(text)}`,
        title: `List ${text}`,
        instruction: `List what is in \`${text}\`.`,
        role: 'researcher',
        dependsOn: [],
      });
    }
  });
  if (/\b(time|date|today)\b/i.test(goal)) {
    tasks.push({
      id: 'time',
      title: 'Current time',
      instruction: `Find the current${/\butc\b/i.test(goal) ? ' UTC' : ''} time.`,
      role: 'researcher',
      dependsOn: [],
    });
  }
  const finished = tasks.filter((t) => !tasks.some((o) => o.dependsOn.includes(t.id))).map((t) => t.id);
  tasks.push({
    id: 'write-up',
    title: 'Write the answer',
    instruction: `Combine the results into a short answer to: ${goal.replace(/^Goal:\s*/, '')}`,
    role: 'writer',
    dependsOn: finished,
  });
  return { goal: goal.replace(/^Goal:\s*/, ''), tasks };
}

function toolCallsFor(task: string, tools: readonly string[]) {
  const calls: { name: string; args: Record<string, unknown> }[] = [];
  for (const text of quoted(task)) {
    if (isExpression(text) && tools.includes('calculator'))
      calls.push({ name: 'calculator', args: { expression: text } });
    else if (isPath(text) && tools.includes('list_dir')) calls.push({ name: 'list_dir', args: { path: text } });
  }
  if (/\b(time|date|today)\b/i.test(task) && tools.includes('current_time') && !/^Combine/.test(task)) {
    calls.push({ name: 'current_time', args: /\butc\b/i.test(task) ? { timeZone: 'UTC' } : {} });
  }
  return calls;
}

/** The writer's answer: the findings of each task it was given, one line each. */
function writeUp(prompt: string): string {
  const sections = prompt.split(/^### /m).slice(1);
  const lines = sections.flatMap((s) =>
    s
      .split('\n')
      .slice(1)
      .filter((l) => l.startsWith('- '))
      .map((l) => l.trim()),
  );
  return `Here is the briefing:\n${[...new Set(lines)].join('\n')}`;
}

function describe(tool: string, output: string): string {
  if (output.startsWith('Error')) return `${tool} failed: ${output}`;
  if (tool === 'calculator') return `the calculation gives ${output}`;
  if (tool === 'current_time') return `the current time is ${output}`;
  if (tool === 'list_dir') return `the folder holds: ${output.replace(/\s*\n\s*/g, ', ')}`;
  return `${tool} returned ${output}`;
}
