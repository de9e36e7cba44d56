import type { ToolEffects } from '../define-tool.js';

/** What a human (or a rule standing in for one) is asked before a tool runs. */
export interface ApprovalRequest {
  tool: string;
  /** Already redacted: an approver never sees secrets. */
  args: Record<string, unknown>;
  effects: ToolEffects;
  runId: string;
  taskId: string;
  /** The model's id for this call: with `attempt`, it tells one call of the task from another. */
  callId?: string;
  /** Which attempt at the task made the call; 1 for the first. */
  attempt?: number;
  /** Why approval is needed, in words a person can act on. */
  reason: string;
  /**
   * Set when an MCP server asks the user something during a call (`elicitation/create`) and the run
   * has no `elicit` handler: approve with `content` (the fields asked for) to answer, refuse to
   * decline. `tool` is then the server's name, `args` empty.
   */
  question?: { server: string; message: string; requestedSchema: Record<string, unknown> };
}

/** An approver's answer to one call. */
export interface ApprovalDecision {
  approved: boolean;
  /** Why; a refusal's reason reaches the model (or, for a question, the server). */
  reason?: string;
  /** The answer to a `question`: its fields by name. */
  content?: Record<string, unknown>;
}

/**
 * Decides whether a call that policy marks `ask` may run. A handler that cannot answer yet may throw
 * an error marked with `markApprovalPending`: it passes through the executor and the agents unchanged,
 * so whatever runs them can stop and ask the same handler again later.
 */
export type ApprovalHandler = (request: ApprovalRequest) => Promise<ApprovalDecision>;

const pending = Symbol.for('cadre.approval_pending');

/** Marks `error` as "no decision yet": not a refusal, not a tool failure; the call is asked again later. */
export function markApprovalPending<E extends object>(error: E): E {
  Object.defineProperty(error, pending, { value: true });
  return error;
}

/** True for an error a handler threw because the decision is still to come (see `markApprovalPending`). */
export const isApprovalPending = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { [pending]?: unknown })[pending] === true;

/** The default: with no one to ask, the safe answer is no. */
export const denyWithoutApprover: ApprovalHandler = () =>
  Promise.resolve({ approved: false, reason: 'no approver configured' });

/** Approves everything: for trusted, unattended setups and tests only. */
export const allowAll: ApprovalHandler = () => Promise.resolve({ approved: true });

/** A handler that answers from a list, in order, and records each request (for tests). */
export function scriptedApprovals(
  decisions: Array<boolean | ApprovalDecision>,
): ApprovalHandler & { requests: ApprovalRequest[] } {
  const requests: ApprovalRequest[] = [];
  const handler = (request: ApprovalRequest): Promise<ApprovalDecision> => {
    requests.push(request);
    const next = decisions[requests.length - 1];
    if (next === undefined) return Promise.resolve({ approved: false, reason: 'no scripted decision left' });
    return Promise.resolve(typeof next === 'boolean' ? { approved: next } : next);
  };
  return Object.assign(handler, { requests });
}
