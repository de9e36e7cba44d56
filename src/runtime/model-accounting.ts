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

/**
 * Makes such calls spend the run's budget and show up as `model.response` events of `taskId`,
 * like agents' calls: the budget is checked before each call and charged with its priced usage after.
 */
export function accounting(decision: RouteDecision, taskId: string, ctx: AgentContext): ModelCallHooks {
  let step = 0;
  let pending: Reservation | undefined;
  return {
    beforeModelCall: (messages) => {
      // These calls are made one after another: a hold still open belongs to a call that failed.
      pending?.release();
      pending = ctx.budget.beforeStep(decision.estimate?.(messages));
    },
    afterModelCall: (reply, latencyMs = 0) => {
      const usage = usageFromMessage(reply);
      const { costUsd, model } = costOfReply(reply, decision.ref);
      const reservation = pending;
      pending = undefined;
      const toolCalls = (reply.tool_calls ?? []).map((c, i) => ({
        id: c.id ?? `${taskId}_${i}`,
        name: c.name,
        args: c.args as Record<string, unknown>,
      }));
      const content = typeof reply.content === 'string' ? reply.content : JSON.stringify(reply.content);
      ctx.events.emit({
        type: 'model.response',
        taskId,
        step: ++step,
        model,
        content,
        toolCalls,
        usage,
        costUsd,
        latencyMs,
        replayed: false,
      });
      if (reservation) reservation.settle(usage, costUsd);
      else ctx.budget.charge(usage, costUsd);
    },
  };
}
