import { CadreError, redact } from '../../src/core/index.js';
import type { Tool } from '../define-tool.js';
import { denyWithoutApprover, type ApprovalHandler } from './approvals.js';
import type { AuditDecision, AuditSink } from './audit-log.js';
import type { RateLimiter } from './rate-limiter.js';
import type { ToolPinStore } from './tool-pins.js';
import type { ToolPolicy } from './tool-policy.js';

/** Everything that decides whether a call may run. All optional: without them every call runs. */
export interface ToolGuards {
  policy?: ToolPolicy;
  /** Asked when policy says `ask`. Default: deny, since no one is there to ask. */
  approve?: ApprovalHandler;
  audit?: AuditSink;
  pins?: ToolPinStore;
  rateLimiter?: RateLimiter;
  /** The calling agent and its role, for per-agent and per-role policy. */
  agent?: string;
  role?: string;
}

/** A call policy refused: the error the model sees and the decision the audit log records. */
export interface Refusal {
  error: CadreError;
  decision: AuditDecision;
}

/**
 * The call being authorised: its arguments, where it comes from, and its id and attempt when known.
 *
 * @inline
 */
interface CallInfo {
  args: Record<string, unknown>;
  runId: string;
  taskId: string;
  callId?: string;
  attempt?: number;
}

/** Before argument validation: is the tool allowed for this agent, and unchanged since it was trusted? */
export function admitCall(tool: Tool, guards: ToolGuards): Refusal | undefined {
  // The guards name the subject themselves (agent, role): no object built per call.
  if (guards.policy && !guards.policy.isAllowed(tool.name, guards)) {
    const who = guards.agent ? `agent "${guards.agent}"` : 'this agent';
    return {
      decision: 'denied',
      error: new CadreError('tool_denied', `Tool ${tool.name} is not allowed for ${who} by policy`, { kind: 'user' }),
    };
  }
  const pin = guards.pins?.check(tool);
  if (pin?.state === 'quarantined') {
    const what = pin.changes?.join(' and ') || 'definition';
    const message = `Tool ${tool.name} changed its ${what} since it was approved and is quarantined until someone re-approves it`;
    return {
      decision: 'quarantined',
      error: new CadreError('tool_quarantined', message, { details: { changes: pin.changes ?? [] } }),
    };
  }
  return undefined;
}

/**
 * After argument validation: argument rules, rate limits, then approval; a newly seen tool is
 * pinned once it may run. A handler's pending-approval error (`markApprovalPending`) is thrown on,
 * untouched.
 */
export async function authorizeCall(tool: Tool, call: CallInfo, guards: ToolGuards): Promise<Refusal | undefined> {
  // A call policy refuses by its arguments takes no rate-limit slot and asks nobody.
  const refused = guards.policy?.refuseArguments(tool.name, call.args);
  if (refused) {
    return {
      decision: 'denied',
      error: new CadreError('tool_denied', `Policy refuses this call of ${tool.name}: ${refused}`, {
        kind: 'user',
        details: { tool: tool.name },
      }),
    };
  }
  if (guards.rateLimiter) {
    try {
      guards.rateLimiter.acquire(tool.name);
    } catch (error) {
      return { decision: 'rate_limited', error: CadreError.from(error) };
    }
  }
  const mode = guards.policy?.approvalFor(tool) ?? 'allow';
  if (mode === 'deny') {
    return {
      decision: 'denied',
      error: new CadreError('tool_denied', `Policy forbids running ${tool.name} (${tool.effects})`, { kind: 'user' }),
    };
  }
  if (mode === 'ask') {
    const approve = guards.approve ?? denyWithoutApprover;
    const decision = await approve({
      tool: tool.name,
      args: redact(call.args),
      effects: tool.effects,
      runId: call.runId,
      taskId: call.taskId,
      ...(call.callId !== undefined ? { callId: call.callId } : {}),
      ...(call.attempt !== undefined ? { attempt: call.attempt } : {}),
      reason: `${tool.name} is a ${tool.effects} tool and policy requires approval before it runs`,
    });
    if (!decision.approved) {
      const why = decision.reason ? `: ${decision.reason}` : '';
      return {
        decision: 'approval_denied',
        error: new CadreError('approval_denied', `Running ${tool.name} was not approved${why}`, { kind: 'user' }),
      };
    }
  }
  guards.pins?.pinIfNew(tool);
  return undefined;
}
