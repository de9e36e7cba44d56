import { callDigest, journalMismatch, type ToolCallInfo, type ToolStep } from '../src/core/index.js';

/**
 * Throws `journal_mismatch` when the call asked now is not the one recorded at its position. A
 * replayed reply's arguments are as stored (maybe redacted), like the recorded call's; a reply asked
 * anew has them as sent, which the recorded digest was taken of.
 */
export function checkRecordedCall(recorded: ToolStep, call: ToolCallInfo, replayed: boolean, callId: string): void {
  const stored = replayed
    ? callDigest(recorded.tool, recorded.args)
    : (recorded.digest ?? callDigest(recorded.tool, recorded.args));
  if (recorded.tool !== call.name || stored !== callDigest(call.name, call.args))
    throw journalMismatch({ runId: recorded.runId, taskId: recorded.taskId, callId }, recorded.tool, call.name);
}
