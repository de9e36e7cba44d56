import type { ApprovalRequest, ElicitationRequest, PlanDecision } from '../../runtime/index.js';
import type { ChatMessage } from './openai-schemas.js';

/**
 * Approvals in a chat: a run that stops for approval answers the chat with what it waits for and
 * how to answer, ending with this line, which names the run. The conversation then carries it: the
 * user's next message, `approve` or `reject …`, is the decision, and the run goes on from there.
 */
const marker = (runId: string) => `[cadre approval: ${runId}]`;
const markerPattern = /\[cadre approval: ([\w.:-]{1,128})\]\s*$/;

/** The assistant message a chat gets for a run waiting for approval: what it waits for, and how to answer. */
export function approvalPrompt(runId: string, request: ApprovalRequest | undefined): string {
  if (request?.kind === 'elicitation') return `${questionPrompt(runId, request)}\n\n${marker(runId)}`;
  const asked =
    request?.kind === 'tool_approval'
      ? `The run needs your approval before it calls \`${request.tool}\` (${request.effects}) with ${JSON.stringify(request.args)}${request.reason ? ` (${request.reason})` : ''}.`
      : request?.kind === 'plan_approval'
        ? `The run needs your approval of its plan:\n${request.graph.tasks.map((t, i) => `${i + 1}. ${t.title}`).join('\n')}`
        : 'The run needs your approval before it goes on.';
  return `${asked}\n\nReply \`approve\` to go on, or \`reject\` with a reason to stop it.\n\n${marker(runId)}`;
}

/**
 * An MCP server's question and the fields it asks for. A chat cannot fill in a form, so the answer
 * goes through the runs API; declining is the one answer a chat reply gives.
 */
function questionPrompt(runId: string, request: ElicitationRequest): string {
  type Field = { type?: unknown; title?: unknown; description?: unknown; enum?: unknown };
  const properties = (request.requestedSchema.properties ?? {}) as Record<string, Field>;
  const required = request.requestedSchema.required;
  const fields = Object.entries(properties).map(([name, field]) => {
    const what = [
      typeof field.type === 'string' ? field.type : 'value',
      Array.isArray(required) && required.includes(name) ? 'required' : '',
      Array.isArray(field.enum) ? `one of ${field.enum.map((v) => JSON.stringify(v)).join(', ')}` : '',
    ].filter(Boolean);
    const about = typeof field.description === 'string' ? field.description : field.title;
    return `- \`${name}\` (${what.join(', ')})${typeof about === 'string' ? `: ${about}` : ''}`;
  });
  return [
    `MCP server \`${request.server}\` asks, while the run calls \`${request.tool}\`:\n\n> ${request.message.replace(/\n/g, '\n> ')}`,
    ...(fields.length ? [`It asks for:\n${fields.join('\n')}`] : []),
    `Answer with \`POST /runs/${runId}/approval\` and \`{"action": "approve", "content": {…}}\`; this chat cannot fill in the fields. Reply \`reject\` to decline.`,
  ].join('\n\n');
}

/**
 * The decision a conversation gives a run waiting for approval: when the assistant's last message
 * is an approval prompt and the user's answer after it starts with approve (yes, ok) or reject (no,
 * deny). Anything else is a new request, and the waiting run stays as it is.
 */
export function approvalAnswer(
  messages: readonly ChatMessage[],
): { runId: string; decision: PlanDecision } | undefined {
  const answer = messages.at(-1);
  const prompt = messages.at(-2);
  if (answer?.role !== 'user' || prompt?.role !== 'assistant' || typeof prompt.content !== 'string') return undefined;
  const runId = markerPattern.exec(prompt.content)?.[1];
  const text = typeof answer.content === 'string' ? answer.content.trim() : '';
  if (!runId || !text) return undefined;
  if (/^(approve[ds]?|yes|y|ok|okay|go ahead)\b/i.test(text)) return { runId, decision: { action: 'approve' } };
  const rejected = /^(reject(?:ed)?|no|n|deny|denied)\b[\s:,.-]*(.*)$/is.exec(text);
  if (rejected)
    return { runId, decision: { action: 'reject', ...(rejected[2]!.trim() ? { reason: rejected[2]!.trim() } : {}) } };
  return undefined;
}
