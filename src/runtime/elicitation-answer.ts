import { CadreError, canonicalJson } from '../core/index.js';

/**
 * An MCP server's question to the user, asked during a tool call of a run that stops for it
 * (`approveTool: 'interrupt'` without an `elicit` handler): what the run's interrupt carries and
 * `RunResult.approval` shows.
 */
export interface ElicitationRequest {
  kind: 'elicitation';
  server: string;
  /** The server's name for the tool whose call the question came in. */
  tool: string;
  message: string;
  /** The fields asked for: the server's JSON Schema, an object of flat properties. */
  requestedSchema: Record<string, unknown>;
  taskId?: string;
  callId?: string;
}

/** What a run resumes a question with: the answer and the question it answers. */
export type ElicitationAnswer = { question: string } & (
  { action: 'accept'; content: Record<string, ElicitationValue> } | { action: 'decline' }
);

/** What a field of an answer may hold, as the protocol allows. */
export type ElicitationValue = string | number | boolean | string[];

/** Names one question of one server, whichever call, re-run or process asks it. */
export const elicitationKey = (q: Pick<ElicitationRequest, 'server' | 'message' | 'requestedSchema'>): string =>
  canonicalJson(['elicitation', q.server, q.message, q.requestedSchema]);

/**
 * The gate's decision as an answer to the question: `approve` accepts with `content`, `reject`
 * declines; `edit` applies to plans only. Content the server would refuse (a value of the wrong
 * shape, a required field missing with no default) is refused here, before the run resumes.
 */
export function elicitationAnswer(
  decision: { action: 'approve' | 'edit' | 'reject'; content?: Record<string, unknown> },
  request: ElicitationRequest,
): ElicitationAnswer {
  const invalid = (why: string) =>
    new CadreError('input_invalid', `Cannot answer the question of MCP server "${request.server}": ${why}`);
  if (decision.action === 'edit') throw invalid('a question is approved (with `content`) or rejected, not edited');
  const question = elicitationKey(request);
  if (decision.action === 'reject') return { question, action: 'decline' };
  const content = decision.content ?? {};
  if (typeof content !== 'object' || content === null || Array.isArray(content))
    throw invalid('`content` must be an object of the fields asked for');
  for (const [field, value] of Object.entries(content))
    if (!isValue(value)) throw invalid(`field "${field}" must be a string, number, boolean or list of strings`);
  const properties = (request.requestedSchema.properties ?? {}) as Record<string, { default?: unknown }>;
  const required = Array.isArray(request.requestedSchema.required)
    ? (request.requestedSchema.required as string[])
    : [];
  const missing = required.filter((field) => content[field] === undefined && properties[field]?.default === undefined);
  if (missing.length)
    throw invalid(`\`content\` lacks the required field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  return { question, action: 'accept', content: content as Record<string, ElicitationValue> };
}

const isValue = (value: unknown): value is ElicitationValue =>
  ['string', 'number', 'boolean'].includes(typeof value) ||
  (Array.isArray(value) && value.every((item) => typeof item === 'string'));
