import { HumanMessage, ToolMessage, type AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { Runnable } from '@langchain/core/runnables';
import { tool } from '@langchain/core/tools';
import { CadreError } from '../src/core/index.js';
import { invokeModel } from '../src/models/invoke-model.js';
import { TaskGraphSchema, type TaskGraph } from './task-graph.js';
import type { PlanContext } from './planner.js';
import type { CheckResult } from './validate-task-graph.js';

const submitPlan = tool(async () => 'received', {
  name: 'submit_plan',
  description: 'Submit the plan: the goal and its tasks with dependencies.',
  schema: TaskGraphSchema,
});

/** Pulls a plan out of a reply: the submit_plan tool call, else JSON in the text (fenced or bare). */
export function extractPlan(message: AIMessage): { value?: unknown; error?: string } {
  const call = message.tool_calls?.find((c) => c.name === 'submit_plan');
  if (call) return { value: call.args };
  const text =
    typeof message.content === 'string'
      ? message.content
      : message.content.map((p) => ('text' in p ? String(p.text) : '')).join('');
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text)?.[1];
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  const candidate = fenced ?? (start < 0 ? '' : end > start ? text.slice(start, end + 1) : text.slice(start));
  if (!candidate.trim())
    return { error: 'The reply contained no plan. Call submit_plan, or reply with the plan as JSON.' };
  try {
    return { value: JSON.parse(candidate) };
  } catch (error) {
    return {
      error: `The plan is not valid JSON (${(error as Error).message}). Reply with the whole plan as valid JSON.`,
    };
  }
}

/**
 * Asks a model for a plan until it passes `check`, feeding every problem back to the model, at
 * most `maxRepairs` times after the first try. Never throws on malformed output; throws
 * `plan_invalid` with the last problems when repairs run out.
 */
export async function requestPlan(options: {
  model: BaseChatModel;
  messages: BaseMessage[];
  check: (value: unknown) => CheckResult;
  maxRepairs: number;
  signal?: AbortSignal;
  hooks?: Pick<PlanContext, 'beforeModelCall' | 'afterModelCall'>;
}): Promise<{ graph: TaskGraph; attempts: number; rejected: string[] }> {
  const model = (options.model.bindTools ? options.model.bindTools([submitPlan]) : options.model) as Runnable<
    BaseMessage[],
    AIMessage
  >;
  const messages = [...options.messages];
  const rejected: string[] = [];
  for (let attempt = 1; attempt <= options.maxRepairs + 1; attempt++) {
    options.hooks?.beforeModelCall?.(messages);
    const started = performance.now();
    const reply = await invokeModel(model, messages, { signal: options.signal });
    options.hooks?.afterModelCall?.(reply, performance.now() - started);
    const { value, error } = extractPlan(reply);
    const result = error === undefined ? options.check(value) : undefined;
    if (result?.ok) return { graph: result.graph, attempts: attempt, rejected };
    const problems =
      error ?? (result && !result.ok ? result.problems.map((p) => `- ${p.message}`).join('\n') : 'unknown problem');
    rejected.push(problems);
    messages.push(reply);
    for (const call of reply.tool_calls ?? [])
      messages.push(new ToolMessage({ content: 'rejected', tool_call_id: call.id ?? '', name: call.name }));
    messages.push(
      new HumanMessage(`That plan was rejected:\n${problems}\nFix every problem and submit the whole corrected plan.`),
    );
  }
  throw new CadreError(
    'plan_invalid',
    `No valid plan after ${options.maxRepairs + 1} attempts. Last problems:\n${rejected.at(-1)}`,
    {
      details: { rejected },
    },
  );
}
