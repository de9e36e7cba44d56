import type { ToolEffects } from '../../tools/define-tool.js';
import type { ApprovalDecision } from '../../tools/policy/approvals.js';
import { CadreError, canonicalJson } from '../core/index.js';

/** A tool call waiting for a decision: what the run's interrupt carries and `RunResult.approval` shows. */
export interface ToolApprovalRequest {
  kind: 'tool_approval';
  tool: string;
  /** Already redacted. */
  args: Record<string, unknown>;
  effects: ToolEffects;
  taskId: string;
  callId?: string;
  attempt?: number;
  reason: string;
}

/** What a run resumes a tool approval with: the decision and the call it answers. */
export interface ToolApprovalAnswer extends ApprovalDecision {
  call: string;
}

/** Names one tool call across re-runs of its task. */
export const approvalKey = (r: ToolApprovalRequest): string =>
  canonicalJson([r.taskId, r.attempt ?? 1, r.callId ?? null, r.tool, r.args]);

/** The gate's decision as a tool approval; `edit` applies to plans only. */
export function toolApprovalAnswer(
  decision: { action: 'approve' | 'edit' | 'reject'; reason?: string },
  request: ToolApprovalRequest,
): ToolApprovalAnswer {
  if (decision.action === 'edit')
    throw new CadreError(
      'input_invalid',
      `A tool call is approved or rejected, not edited (${request.tool} in task ${request.taskId})`,
    );
  return {
    call: approvalKey(request),
    approved: decision.action === 'approve',
    ...(decision.reason ? { reason: decision.reason } : {}),
  };
}
