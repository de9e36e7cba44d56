import type { RouteDecision, RouteRequest } from '../src/models/router.js';
import { formatModelRef } from '../src/models/model-ref.js';
import type { AgentContext } from './agent.js';

/** What routing needs of a run: its router, budget, privacy label and events. */
export type RoutingContext = Pick<AgentContext, 'router' | 'budget' | 'privacy' | 'events'>;

/**
 * A route request with what the run knows added: its privacy label, the cost budget left (for
 * downgrades and pre-call checks), and a `model.routed` event whenever a call changes model.
 */
export function routeRequest(ctx: RoutingContext, taskId: string, request: RouteRequest): RouteRequest {
  const limitUsd = ctx.budget.costLimitUsd();
  return {
    ...(ctx.privacy ? { privacy: ctx.privacy } : {}),
    ...(limitUsd !== undefined ? { budget: { limitUsd, remainingUsd: ctx.budget.remainingCostUsd() } } : {}),
    onReroute: (r) =>
      ctx.events.emit({
        type: 'model.routed',
        taskId,
        model: r.to.model,
        provider: r.to.provider,
        reason: r.reason,
        change: r.kind,
      }),
    ...request,
  };
}

/** Routes a request for `taskId` and emits its `model.routed` event. */
export async function routeFor(ctx: RoutingContext, taskId: string, request: RouteRequest): Promise<RouteDecision> {
  const decision = await ctx.router.select(routeRequest(ctx, taskId, request));
  const { ref, reason, privacy, fallbacks } = decision;
  ctx.events.emit({
    type: 'model.routed',
    taskId,
    model: ref.model,
    provider: ref.provider,
    reason,
    ...(privacy ? { privacy } : {}),
    ...(fallbacks?.length ? { fallbacks: fallbacks.map(formatModelRef) } : {}),
  });
  return decision;
}
