import { HumanMessage, SystemMessage, ToolMessage, type AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { Runnable } from '@langchain/core/runnables';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';
import { invokeModel } from '../../src/models/invoke-model.js';
import type { RelationInput } from '../graph-store.js';

const EntitySchema = z.object({ name: z.string().trim().min(1), type: z.string().trim().min(1) });

const FactSchema = z.object({
  subject: EntitySchema,
  predicate: z.string().trim().min(1).describe('snake_case verb phrase, e.g. lives_in, works_at'),
  object: EntitySchema.optional(),
  value: z.union([z.string(), z.number(), z.boolean()]).optional(),
  validFrom: z.string().optional().describe('ISO 8601 date the fact became true, e.g. 2024-03-01'),
  singleValued: z
    .boolean()
    .optional()
    .describe('true when the subject has only one such object at a time (lives_in, ceo_of)'),
});

/** What the model submits through the `record_facts` tool. */
export const RecordFactsSchema = z.object({ facts: z.array(FactSchema) });

// Checked after the tool schema rather than inside it, so the JSON schema the model sees stays plain.
const isoDate = z
  .string()
  .refine((d) => !Number.isNaN(Date.parse(d)), { error: (issue) => `"${String(issue.input)}" is not an ISO date` });
const StrictFactsSchema = z.object({
  facts: z.array(
    FactSchema.extend({ validFrom: isoDate.optional() }).refine(
      (f) => f.object !== undefined || f.value !== undefined,
      {
        error: 'a fact needs an object or a value',
      },
    ),
  ),
});

const recordFacts = tool(async () => 'recorded', {
  name: 'record_facts',
  description:
    'Record the facts stated in the text as subject-predicate-object triples or subject-predicate-value literals.',
  schema: RecordFactsSchema,
});

const instructions = `Extract the facts stated in the user's text. Call record_facts once with every fact.
Use snake_case predicates, entity types like person, organisation, city; give validFrom as an ISO date when the text says
when a fact became true, and singleValued: true for predicates with one object at a time (lives_in, works_at, ceo_of).
A change ("moved from Paris to Berlin in 2024") is two facts with their own validFrom. If you cannot call tools, reply with the JSON only.`;

const textOf = (m: AIMessage) =>
  typeof m.content === 'string' ? m.content : m.content.map((p) => ('text' in p ? String(p.text) : '')).join('');

/** The record_facts call's arguments, else JSON in the text (fenced or bare). */
function readReply(reply: AIMessage): { value?: unknown; error?: string } {
  const call = reply.tool_calls?.find((c) => c.name === 'record_facts');
  if (call) return { value: call.args };
  const text = textOf(reply);
  const candidate =
    /```(?:json)?\s*([\s\S]*?)```/.exec(text)?.[1] ?? text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1);
  if (!candidate.trim())
    return { error: 'The reply contained no facts. Call record_facts, or reply with {"facts": [...]} as JSON.' };
  try {
    return { value: JSON.parse(candidate) };
  } catch (error) {
    return { error: `The facts are not valid JSON (${(error as Error).message}).` };
  }
}

const snakeCase = (s: string) =>
  s
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '_')
    .replace(/^_+|_+$/g, '');

/** The model and text {@link extractFacts} works on, and hooks around each model call. */
export interface ExtractFactsOptions {
  model: BaseChatModel;
  text: string;
  signal?: AbortSignal;
  /** Times schema problems are fed back to the model. Default 1. */
  maxRepairs?: number;
  /** Called before each model call, e.g. to check a run's budget. */
  beforeModelCall?: (messages: readonly BaseMessage[]) => void;
  /** Called with each reply, e.g. to charge its tokens to a run. */
  afterModelCall?: (reply: AIMessage) => void;
}

/**
 * Asks a model for the facts in `text`, feeding schema problems back at most `maxRepairs` times
 * (default 1). Returns [] when the model never produces valid facts; throws when cancelled.
 */
export async function extractFacts(options: ExtractFactsOptions): Promise<RelationInput[]> {
  const { model: base, signal, maxRepairs = 1 } = options;
  const model = (base.bindTools ? base.bindTools([recordFacts]) : base) as Runnable<BaseMessage[], AIMessage>;
  const messages: BaseMessage[] = [new SystemMessage(instructions), new HumanMessage(options.text)];
  for (let attempt = 0; attempt <= maxRepairs; attempt++) {
    // Model and cancellation errors propagate: only malformed output is repaired or dropped.
    options.beforeModelCall?.(messages);
    const reply = await invokeModel(model, messages, { signal });
    options.afterModelCall?.(reply);
    const { value, error } = readReply(reply);
    const parsed = error === undefined ? StrictFactsSchema.safeParse(value) : undefined;
    if (parsed?.success) return parsed.data.facts.map(toRelationInput);
    const problems =
      error ?? parsed!.error!.issues.map((i) => `- ${i.path.join('.') || 'facts'}: ${i.message}`).join('\n');
    messages.push(reply);
    for (const call of reply.tool_calls ?? [])
      messages.push(new ToolMessage({ content: 'rejected', tool_call_id: call.id ?? '', name: call.name }));
    messages.push(
      new HumanMessage(`Those facts were rejected:\n${problems}\nFix every problem and submit all the facts again.`),
    );
  }
  return [];
}

function toRelationInput(fact: z.infer<typeof FactSchema>): RelationInput {
  return {
    subject: fact.subject,
    predicate: snakeCase(fact.predicate) || fact.predicate,
    ...(fact.object ? { object: fact.object } : {}),
    ...(fact.value !== undefined ? { value: fact.value } : {}),
    ...(fact.validFrom !== undefined ? { validFrom: Date.parse(fact.validFrom) } : {}),
    ...(fact.singleValued !== undefined ? { singleValued: fact.singleValued } : {}),
  };
}
