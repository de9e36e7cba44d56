import type { CadreConfig, RunEventStream } from '../core/index.js';
import type { ResumeOptions, RunOptions } from './run-types.js';
import type { ExecutionStore, RunRecord } from './store/index.js';
import type { ApprovalRequest } from './workflow.js';

/** What one execution of a run (a start or a resume) is given. */
export interface Execution {
  options: RunOptions & ResumeOptions;
  config: CadreConfig;
  runId: string;
  store: ExecutionStore;
  events: RunEventStream;
  signal: AbortSignal;
  controller: AbortController;
  resuming: boolean;
  /** `direct`: one agent, no LangGraph workflow (direct-run.ts); `workflow`: everything else. */
  engine: 'direct' | 'workflow';
  /** Set when the run stopped at `awaiting_approval`: what it waits for, when recorded. */
  waiting?: PendingApproval | true;
}

/** What a run at `awaiting_approval` waits for, and the id of the LangGraph interrupt to answer. */
export interface PendingApproval {
  request: ApprovalRequest;
  interruptId?: string;
}

/** The pending approval kept in a run's record, if any. */
export function pendingApproval(record: RunRecord): PendingApproval | undefined {
  const result = record.result as { approval?: ApprovalRequest; interruptId?: string } | undefined;
  return result?.approval
    ? { request: result.approval, ...(result.interruptId ? { interruptId: result.interruptId } : {}) }
    : undefined;
}
