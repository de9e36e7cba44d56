import { interrupt, isGraphInterrupt } from '@langchain/langgraph';
import { markApprovalPending, type ApprovalDecision, type ApprovalHandler } from '../../tools/index.js';
import type { RunEventStream } from '../core/index.js';

export {
  approvalKey,
  toolApprovalAnswer,
  type ToolApprovalAnswer,
  type ToolApprovalRequest,
} from './tool-approval-answer.js';
import { approvalKey, type ToolApprovalAnswer, type ToolApprovalRequest } from './tool-approval-answer.js';

/**
 * The approval handler of `approveTool: 'interrupt'`: it does not decide but stops the run with
 * LangGraph's `interrupt()`, and answers from the decision the run is resumed with when the task
 * runs again and reaches the same call.
 *
 * interrupt() hands a task its resume values in the order the task asks, yet a re-run asks fewer
 * times (journaled calls are replayed, not asked) and parallel calls ask in no fixed order. So each
 * answer names its call, and every value read is kept for the call it names.
 */
export function createInterruptApprover(events: RunEventStream): ApprovalHandler {
  const answers = new Map<string, ApprovalDecision>();
  return (request) => {
    const { tool, args, effects, taskId, callId, attempt, reason } = request;
    const pending: ToolApprovalRequest = {
      kind: 'tool_approval',
      tool,
      args,
      effects,
      taskId,
      ...(callId !== undefined ? { callId } : {}),
      ...(attempt !== undefined ? { attempt } : {}),
      reason,
    };
    const key = approvalKey(pending);
    for (;;) {
      const known = answers.get(key);
      if (known) return Promise.resolve(known);
      let answer: unknown;
      try {
        answer = interrupt<ToolApprovalRequest, ToolApprovalAnswer>(pending);
      } catch (error) {
        if (!isGraphInterrupt(error)) throw error;
        events.emit({
          type: 'tool.approval_requested',
          taskId,
          ...(callId !== undefined ? { callId } : {}),
          tool,
          args,
          effects,
          reason,
        });
        // Passes the executor, agents and task runner untouched, up to LangGraph, which stops the run.
        throw markApprovalPending(error as object);
      }
      if (isAnswer(answer))
        answers.set(answer.call, { approved: answer.approved, ...(answer.reason ? { reason: answer.reason } : {}) });
    }
  };
}

const isAnswer = (value: unknown): value is ToolApprovalAnswer =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as ToolApprovalAnswer).call === 'string' &&
  typeof (value as ToolApprovalAnswer).approved === 'boolean';
