import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { CadreError } from '../core/index.js';
import { formatModelRef } from './model-ref.js';
import { ModelLane } from './model-lane.js';
import { detectPii, type PiiKind } from './pii.js';
import type { PoolModel } from './pool.js';
import { callCost, estimateTokens } from './call-estimate.js';
import { RoutedChatModel } from './routed-chat-model.js';
import type { ModelRouter, RouteDecision, RouteRequest } from './router.js';
import {
  defaultRoutingRules,
  parseRoutingConfig,
  type RoutingConfig,
  type RoutingConfigInput,
  type RoutingRule,
} from './routing-config.js';
import { preferKey, priceOf, ruleMatches } from './rule-match.js';

/** What the programmable hook sees: the candidates left after every rule, best first. */
export interface RouterHookContext {
  request: RouteRequest;
  privacy: 'public' | 'sensitive';
  candidates: readonly PoolModel[];
  /** Calls waiting on a model (cadre's queue plus what the server reports). */
  queueDepth(id: string): number;
}

/** Reorders or narrows the candidates; privacy and capability limits are applied again afterwards. */
export type RouterHook = (context: RouterHookContext) => readonly PoolModel[] | undefined;

/** The model pool a policy router chooses from, its routing config and hook, and the servers' load. */
export interface PolicyRouterOptions {
  /** The pool, each with the chat model that serves it. */
  models: ReadonlyArray<{ model: PoolModel; chat: BaseChatModel }>;
  /** `routing` from the config; when omitted every default applies (only the built-in rules). */
  routing?: RoutingConfig | RoutingConfigInput;
  hook?: RouterHook;
  /** Requests a server reports waiting for a model (e.g. a LoadMonitor's `load(id).waiting`). */
  serverQueue?: (id: string) => number;
  /** Brings `serverQueue`'s figures up to date now (they refresh lazily otherwise). */
  refreshLoad?: () => Promise<void>;
}

/** Why each model was or was not chosen for a request. */
export interface RoutePlan {
  privacy: 'public' | 'sensitive';
  /** Kinds of personal data found in the request text (never the values). */
  piiFound: PiiKind[];
  /** The models left after the hard limits, in the order they are tried: the first, then the fallbacks. */
  chain: PoolModel[];
  /** The models a hard limit ruled out, and which limit. */
  excluded: Array<{ id: string; why: string }>;
  /** The rules that matched, by name (or `rule n`). */
  rules: string[];
  /** False when a tool call is needed but no candidate calls tools natively (JSON tool protocol instead). */
  nativeTools: boolean;
  cascade?: { models: PoolModel[]; check: RoutingConfig['cascade'][string]['check'] };
  reason: string;
}

/** A model router over a pool that can also explain its decisions and report each model's lane and queue. */
export interface PolicyRouter extends ModelRouter {
  readonly pool: readonly PoolModel[];
  /** The decision `select` would make, with every candidate's verdict; calls nothing. */
  plan(request: RouteRequest): RoutePlan;
  /** The lane (queue, timeout, breaker) a pool model's calls go through; `model_unavailable` for an unknown id. */
  lane(id: string): ModelLane;
  /** Calls waiting on a model: cadre's own queue plus what its server reports. */
  queueDepth(id: string): number;
  /** Fetches servers' load figures now, e.g. before explaining a decision. */
  refreshLoad(): Promise<void>;
}

const overBudget = 'one call would cost more than the budget left';

/**
 * Routes each call over a model pool. Hard limits first — privacy (a sensitive request, labelled or
 * found to hold personal data, only ever reaches local models), capabilities, context window,
 * budget and rule `require`s — then an order: healthy before broken, unqueued before deep queues,
 * the caller's preferred model, cheapest first when the budget runs low, then rule preferences and
 * pool order. The rest of the order is the fallback chain.
 */
export function createPolicyRouter(options: PolicyRouterOptions): PolicyRouter {
  if (options.models.length === 0)
    throw new CadreError('model_unavailable', 'The model pool is empty', { kind: 'user' });
  const routing = parseRoutingConfig(options.routing);
  const rules = [...routing.rules, ...(routing.defaultRules ? defaultRoutingRules : [])];
  const pool = options.models.map((m) => m.model);
  const ids = new Set<string>();
  for (const m of pool) {
    if (ids.has(m.id))
      throw new CadreError('config_invalid', `Two models in the pool share the id ${m.id}; give one an "id"`, {
        kind: 'user',
      });
    ids.add(m.id);
  }
  for (const [kind, cascade] of Object.entries(routing.cascade)) {
    const unknown = cascade.models.filter((id) => !ids.has(id));
    if (unknown.length)
      throw new CadreError(
        'config_invalid',
        `routing.cascade.${kind} names models not in the pool: ${unknown.join(', ')}`,
        { kind: 'user' },
      );
  }
  const lanes = new Map(
    pool.map((m) => [m.id, new ModelLane(m, { ...routing.breaker, timeoutMs: routing.timeoutMs })]),
  );
  const chats = new Map(options.models.map((m) => [m.model.id, m.chat]));
  const depth = (id: string) => lanes.get(id)!.waiting + (options.serverQueue?.(id) ?? 0);
  const byRef = (text: string) => pool.find((m) => m.id === text || formatModelRef(m.ref) === text);

  function plan(request: RouteRequest): RoutePlan {
    const piiFound =
      request.privacy !== 'sensitive' && routing.detectPii && request.text
        ? [...new Set(detectPii(request.text).map((f) => f.kind))]
        : [];
    const privacy = request.privacy === 'sensitive' || piiFound.length ? 'sensitive' : 'public';
    const tokens = request.estimatedTokens ?? (request.text ? estimateTokens(request.text) : 0);
    const needs = request.requiredCapabilities ?? [];
    const excluded: RoutePlan['excluded'] = [];
    const keep = (m: PoolModel, why: string | undefined) => (why ? (excluded.push({ id: m.id, why }), false) : true);
    const budgetLeft = request.budget?.limitUsd
      ? (request.budget.remainingUsd ?? request.budget.limitUsd) / request.budget.limitUsd
      : 1;
    const localDepth = Math.min(...pool.filter((m) => m.ref.location === 'local').map((m) => depth(m.id)));
    const matching = rules.filter((rule) => ruleMatches(rule, { request, privacy, tokens, budgetLeft, localDepth }));

    let candidates = pool.filter((m) =>
      keep(m, limitsOf(m, { privacy, needs, tokens, outputTokens: m.maxOutputTokens ?? routing.expectedOutputTokens })),
    );
    for (const rule of matching) candidates = candidates.filter((m) => keep(m, requireOf(rule, m)));
    const remainingUsd = request.budget?.remainingUsd;
    if (remainingUsd !== undefined) {
      const fits = candidates.filter((m) => callCost(m, tokens, routing.expectedOutputTokens) <= remainingUsd);
      // When nothing fits, the budget check before the call stops the run (or task) that owns the limit.
      if (fits.length > 0) candidates = candidates.filter((m) => keep(m, fits.includes(m) ? undefined : overBudget));
    }
    const natives = needs.includes('tools') ? candidates.filter((m) => m.capabilities.tools === true) : candidates;
    const nativeTools = natives.length > 0 || !needs.includes('tools');
    if (natives.length > 0) candidates = natives;

    const order = orderOf(candidates, { request, budgetLeft, matching });
    let chain = [...candidates].sort(order);
    if (options.hook) {
      const allowed = new Set(chain.map((m) => m.id));
      const hooked = options.hook({ request, privacy, candidates: chain, queueDepth: depth });
      // The hook may reorder or drop candidates, never add one the limits excluded.
      if (hooked) chain = hooked.filter((m) => allowed.has(m.id));
    }
    if (chain.length === 0) {
      const why = excluded.map((e) => `${e.id}: ${e.why}`).join('; ');
      throw new CadreError(
        'model_unavailable',
        `No model in the pool can take this ${privacy} request${why ? ` (${why})` : ''}`,
        { kind: 'user', details: { privacy, excluded } },
      );
    }
    const cascadeSpec = request.taskKind ? routing.cascade[request.taskKind] : undefined;
    const cascadeModels = cascadeSpec?.models
      .map((id) => chain.find((m) => m.id === id))
      .filter((m): m is PoolModel => m !== undefined);
    const cascade =
      cascadeSpec && cascadeModels && cascadeModels.length > 1
        ? { models: cascadeModels, check: cascadeSpec.check }
        : undefined;
    const reason = explainPlan({
      chain,
      excluded,
      matching,
      privacy,
      piiFound,
      request,
      cascade,
      depth: depth(chain[0]!.id),
      budgetLeft,
    });
    return {
      privacy,
      piiFound,
      chain,
      excluded,
      rules: matching.map((r, i) => r.name ?? `rule ${rules.indexOf(r) + 1 || i + 1}`),
      nativeTools,
      ...(cascade ? { cascade } : {}),
      reason,
    };
  }

  function limitsOf(
    m: PoolModel,
    need: { privacy: string; needs: readonly string[]; tokens: number; outputTokens: number },
  ): string | undefined {
    if (need.privacy === 'sensitive' && m.ref.location !== 'local') return 'sensitive data stays on local models';
    for (const c of need.needs)
      if (c !== 'tools' && m.capabilities[c as 'json' | 'vision'] !== true) return `lacks ${c}`;
    const window = m.capabilities.contextWindow;
    if (window !== undefined && need.tokens + Math.min(need.outputTokens, window / 4) > window)
      return `context window ${window} too small for ~${need.tokens} tokens`;
    return undefined;
  }

  function requireOf(rule: RoutingRule, m: PoolModel): string | undefined {
    const need = rule.require;
    if (!need) return undefined;
    const name = rule.name ?? 'a rule';
    if (need.location && m.ref.location !== need.location) return `${name} requires ${need.location}`;
    if (need.tags && !need.tags.every((t) => m.tags.includes(t)))
      return `${name} requires tags ${need.tags.join(', ')}`;
    if (need.models && !need.models.includes(m.id)) return `${name} requires one of ${need.models.join(', ')}`;
    return undefined;
  }

  function orderOf(
    candidates: PoolModel[],
    context: { request: RouteRequest; budgetLeft: number; matching: RoutingRule[] },
  ) {
    const preferred = context.request.preferred ? byRef(context.request.preferred) : undefined;
    const index = new Map(pool.map((m, i) => [m.id, i]));
    const keys = new Map(
      candidates.map((m) => {
        const lane = lanes.get(m.id)!;
        const target = context.request.latencyTargetMs;
        return [
          m.id,
          [
            lane.health === 'open' ? 1 : 0,
            routing.spillQueueDepth > 0 && depth(m.id) >= routing.spillQueueDepth ? 1 : 0,
            preferred && preferred.id !== m.id ? 1 : 0,
            target !== undefined && (lane.typicalLatencyMs ?? 0) > target ? 1 : 0,
            context.budgetLeft < routing.downgradeBelow ? priceOf(m) : 0,
            ...context.matching.filter((r) => r.prefer).map((r) => preferKey(r.prefer!, m, lane)),
            index.get(m.id)!,
          ],
        ];
      }),
    );
    return (a: PoolModel, b: PoolModel) => {
      const ka = keys.get(a.id)!;
      const kb = keys.get(b.id)!;
      for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
      return 0;
    };
  }

  /** The local chain for a request whose conversation turned out to hold personal data. */
  function sensitiveLanes(request: RouteRequest, chosen: RoutePlan): ModelLane[] {
    // Labelled sensitive, the text is not scanned again; it still sizes the request.
    const local = plan({ ...request, privacy: 'sensitive' });
    if (local.nativeTools !== chosen.nativeTools) {
      throw new CadreError(
        'model_unavailable',
        'Personal data appeared in the conversation and no local model can carry on with native tool calling',
        {
          kind: 'user',
          details: { excluded: local.excluded },
        },
      );
    }
    return local.chain.map((m) => lanes.get(m.id)!);
  }

  return {
    pool,
    candidates: pool.map((m) => m.ref),
    plan,
    queueDepth: depth,
    refreshLoad: async () => options.refreshLoad?.(),
    lane: (id) => {
      const lane = lanes.get(id);
      if (!lane) throw new CadreError('model_unavailable', `No model ${id} in the pool`);
      return lane;
    },
    async select(request): Promise<RouteDecision> {
      const chosen = plan(request);
      const members = chosen.cascade?.models ?? chosen.chain;
      const model = new RoutedChatModel({
        lanes: members.map((m) => lanes.get(m.id)!),
        release: lanes.get(members[0]!.id)!.reserve(),
        chats,
        cascade: chosen.cascade
          ? { check: chosen.cascade.check, ...(request.checkAnswer ? { checkAnswer: request.checkAnswer } : {}) }
          : undefined,
        expectedOutputTokens: routing.expectedOutputTokens,
        // A public conversation that later shows personal data (a tool result, say) moves local.
        ...(chosen.privacy === 'public' && routing.detectPii
          ? { toSensitive: () => sensitiveLanes(request, chosen), ...(request.text ? { scanned: request.text } : {}) }
          : {}),
        ...(request.onReroute ? { onReroute: request.onReroute } : {}),
      });
      const windows = members.flatMap((m) => m.capabilities.contextWindow ?? []);
      return {
        model,
        ref: members[0]!.ref,
        reason: chosen.reason,
        fallbacks: members.slice(1).map((m) => m.ref),
        privacy: chosen.privacy,
        nativeTools: chosen.nativeTools,
        ...(windows.length ? { contextWindow: Math.min(...windows) } : {}),
        estimate: (messages) => model.estimate(messages),
      };
    },
  };
}

function explainPlan(p: {
  chain: PoolModel[];
  excluded: RoutePlan['excluded'];
  matching: RoutingRule[];
  privacy: string;
  piiFound: PiiKind[];
  request: RouteRequest;
  cascade: RoutePlan['cascade'];
  depth: number;
  budgetLeft: number;
}): string {
  const first = p.chain[0]!;
  const parts = [`${first.id} for ${p.request.taskKind ?? 'a call'}`];
  if (p.piiFound.length) parts.push(`sensitive: found ${p.piiFound.join(', ')}`);
  else if (p.privacy === 'sensitive') parts.push('sensitive: labelled');
  const rules = p.matching.filter((r) => r.prefer || r.require).map((r) => r.name ?? 'unnamed rule');
  if (rules.length) parts.push(`rules: ${rules.join(', ')}`);
  if (p.budgetLeft < 1) parts.push(`${Math.round(p.budgetLeft * 100)}% of budget left`);
  if (p.excluded.length) parts.push(`excluded: ${p.excluded.map((e) => `${e.id} (${e.why})`).join(', ')}`);
  if (p.cascade) parts.push(`cascade ${p.cascade.models.map((m) => m.id).join(' -> ')} (${p.cascade.check})`);
  else if (p.chain.length > 1)
    parts.push(
      `fallbacks: ${p.chain
        .slice(1)
        .map((m) => m.id)
        .join(', ')}`,
    );
  if (p.depth > 0) parts.push(`${p.depth} waiting on ${first.id}`);
  return parts.join('; ');
}
