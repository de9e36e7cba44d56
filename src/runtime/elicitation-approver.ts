import type { ApprovalHandler } from '../../tools/policy/approvals.js';
import { declineReasonMetaKey, type McpElicitHandler } from '../../tools/mcp/index.js';
import { CadreError } from '../core/index.js';
import { elicitationAnswer } from './elicitation-answer.js';

/**
 * MCP servers' questions put to the run's `approveTool` callback, the channel tool approvals take:
 * the request carries the `question` (server, message, fields asked for); an approval with
 * `content` answers it, once the content has what the server requires; a refusal, or content the
 * server would refuse, declines it with the reason.
 */
export function elicitThroughApprover(approve: ApprovalHandler, runId: string): McpElicitHandler {
  return async ({ server, params }) => {
    if (!('requestedSchema' in params)) return declined('cadre answers form questions only');
    const question = { server, message: params.message, requestedSchema: params.requestedSchema };
    const decision = await approve({
      tool: server,
      args: {},
      effects: 'read',
      runId,
      taskId: '',
      reason: `MCP server "${server}" asks: ${params.message}`,
      question,
    });
    if (!decision.approved) return declined(decision.reason ?? 'the approver declined');
    try {
      const answer = elicitationAnswer(
        { action: 'approve', ...(decision.content ? { content: decision.content } : {}) },
        { kind: 'elicitation', tool: '', ...question },
      );
      return answer.action === 'accept' ? { action: 'accept', content: answer.content } : declined('declined');
    } catch (error) {
      return declined(CadreError.from(error).message);
    }
  };
}

const declined = (reason: string) => ({ action: 'decline' as const, _meta: { [declineReasonMetaKey]: reason } });
