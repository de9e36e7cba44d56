import type { AIMessage, BaseMessage } from '@langchain/core/messages';
import type { AgentContext } from '../../agents/index.js';
import type { Reservation } from '../core/index.js';
import { costOfReply } from '../models/reply-info.js';
import type { RouteDecision } from '../models/router.js';
import { usageFromMessage } from '../models/usage.js';

/** Hooks around a model call the runtime makes outside an agent (planning, fact extraction). */
export interface ModelCallHooks {
  beforeModelCall: (messages: readonly BaseMessage[]) => void;
  afterModelCall: (reply: AIMessage, latencyMs?: number) => void;
}

/** What charging a call needs of a run: its budget and its events. */
type AccountingContext = Pick<AgentContext, 'budget' | 'events'>;

/**
 * Charges a reply to the run and reports it as a `model.response` event of `taskId`: settles the
 * call's reservation with its priced usage (or charges the budget when it had none). Returns the
 * model that answered and the reply's text, as the event has them.
 */
export function chargeReply(
  ctx: AccountingContext,
  call: { decision: RouteDecision; taskId: string; step: number; reservation?: Reservation | undefined },
  reply: AIMessage,
  latencyMs: number,
): { model: string; content: string } {
  const { taskId } = call;
  const usage = usageFromMessage(reply);
  const { costUsd, model } = costOfReply(reply, call.decision.ref);
  const toolCalls = (reply.tool_calls ?? []).map((c, i) => ({
    id: c.id ?? `${taskId}_${i}`,
    name: c.name,
    args: c.args as Record<string, unknown>,
  }));
  const content = typeof reply.content === 'string' ? reply.content : JSON.stringify(reply.content);
  ctx.events.emit({
    type: 'model.response',
    taskId,
    step: call.step,
    model,
    content,
    toolCalls,
    usage,
    costUsd,
    latencyMs,
    replayed: false,
  });
  if (call.reservation) call.reservation.settle(usage, costUsd);
  else ctx.budget.charge(usage, costUsd);
  return { model, content };
}

/**
 * Makes such calls spend the run's budget and show up as `model.response` events of `taskId`,
 * like agents' calls: the budget is checked before each call and charged with its priced usage after.
 */
export function accounting(decision: RouteDecision, taskId: string, ctx: AccountingContext): ModelCallHooks {
  let step = 0;
  let pending: Reservation | undefined;
  return {
    beforeModelCall: (messages) => {
      // These calls are made one after another: a hold still open belongs to a call that failed.
      pending?.release();
      pending = ctx.budget.beforeStep(decision.estimate?.(messages));
    },
    afterModelCall: (reply, latencyMs = 0) => {
      const reservation = pending;
      pending = undefined;
      chargeReply(ctx, { decision, taskId, step: ++step, reservation }, reply, latencyMs);
    },
  };
}
