import type { ModelLane } from './model-lane.js';
import type { PoolModel } from './pool.js';
import type { RouteRequest } from './router.js';
import type { Prefer, RoutingRule } from './routing-config.js';

/** A model's price per million input plus output tokens: a rough "how dear" for ordering. */
export const priceOf = (m: PoolModel) => m.price.input + m.price.output;

/** Whether every condition in a rule's `when` holds for this request. */
export function ruleMatches(
  rule: RoutingRule,
  c: { request: RouteRequest; privacy: string; tokens: number; budgetLeft: number; localDepth: number },
): boolean {
  const w = rule.when;
  if (
    w.taskKind !== undefined &&
    !(Array.isArray(w.taskKind) ? w.taskKind : [w.taskKind]).includes(c.request.taskKind ?? '')
  )
    return false;
  if (w.privacy !== undefined && w.privacy !== c.privacy) return false;
  if (w.capabilities && !w.capabilities.every((cap) => c.request.requiredCapabilities?.includes(cap))) return false;
  if (w.minTokens !== undefined && c.tokens < w.minTokens) return false;
  if (w.budgetLeftBelow !== undefined && !(c.budgetLeft < w.budgetLeftBelow)) return false;
  if (w.localQueueAtLeast !== undefined && !(c.localDepth >= w.localQueueAtLeast)) return false;
  return true;
}

/** A sort key for a rule's `prefer`: lower goes first. */
export function preferKey(prefer: Prefer, m: PoolModel, lane: ModelLane): number {
  if (prefer === 'strongest') return -m.strength;
  if (prefer === 'cheapest') return priceOf(m);
  if (prefer === 'fastest') return lane.typicalLatencyMs ?? Number.MAX_SAFE_INTEGER;
  if (prefer === 'local') return m.ref.location === 'local' ? 0 : 1;
  if (prefer === 'cloud') return m.ref.location === 'cloud' ? 0 : 1;
  if ('tags' in prefer) return prefer.tags.every((t) => m.tags.includes(t)) ? 0 : 1;
  const at = prefer.models.indexOf(m.id);
  return at === -1 ? prefer.models.length : at;
}
