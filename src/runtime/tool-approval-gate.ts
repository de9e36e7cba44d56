import { isGraphInterrupt } from '@langchain/langgraph';
import { markApprovalPending, type ApprovalDecision, type ApprovalHandler } from '../../tools/index.js';
import type { RunEventStream } from '../core/index.js';

export {
  approvalKey,
  toolApprovalAnswer,
  type ToolApprovalAnswer,
  type ToolApprovalRequest,
} from './tool-approval-answer.js';
import { approvalKey, type ToolApprovalAnswer, type ToolApprovalRequest } from './tool-approval-answer.js';
import { InterruptAnswers } from './interrupt-answers.js';

/**
 * The approval handler of `approveTool: 'interrupt'`: it does not decide but stops the run with
 * LangGraph's `interrupt()`, and answers from the decision the run is resumed with when the task
 * runs again and reaches the same call. Each answer names its call (see InterruptAnswers for why).
 */
export function createInterruptApprover(
  events: RunEventStream,
  answers: InterruptAnswers = new InterruptAnswers(),
): ApprovalHandler {
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
    let answer: ToolApprovalAnswer;
    try {
      answer = answers.ask(approvalKey(pending), pending) as ToolApprovalAnswer;
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
    const decision: ApprovalDecision = {
      approved: answer.approved,
      ...(answer.reason ? { reason: answer.reason } : {}),
    };
    return Promise.resolve(decision);
  };
}
