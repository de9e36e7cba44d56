import { HumanMessage, ToolMessage, type AIMessage, type BaseMessage } from '@langchain/core/messages';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Budget, CadreError, type ErrorCode } from '../../src/core/index.js';
import {
  callCost,
  containsPii,
  createPolicyRouter,
  estimateMessageTokens,
  estimateTokens,
  poolModel,
  routedReplyInfo,
  usageFromMessage,
  type Capability,
  type ModelEntryInput,
  type PoolModel,
  type RouteDecision,
  type RouteRequest,
  type RouterHook,
  type RoutingConfigInput,
  type RoutingRule,
} from '../../src/models/index.js';
import { ScriptedChatModel, type ScriptedReply } from '../../src/testing/index.js';

const ids = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'];
const tagNames = ['small', 'gpu0', 'coder', 'fast'];
const taskKinds = ['plan', 'reason', 'code', 'chat', 'extract', 'agent'];
const capabilities: Capability[] = ['tools', 'json', 'vision'];
const key = ['sk-', 'proj-', 'Xq7vT2mK9pL4sR8wN3bY6cJ1hF5dG0aZ'].join('');
const piiSamples = [
  'jane.doe@example.com',
  '4111 1111 1111 1111',
  'GB82 WEST 1234 5698 7654 32',
  'DE89 3704 0044 0532 0130 00',
  key,
];
const plainTexts = [
  'Summarise the release notes of version 1.2.3',
  'Plan the migration to the new queue',
  'Classify these tickets by urgency',
  '',
];

const option = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** 0 to max/100 in steps of 0.01: doubles would mostly be 0 or vanishingly small, hiding every cost. */
const cents = (max: number) => fc.integer({ min: 0, max }).map((n) => n / 100);
/** Dollars in tenths of a cent. */
const dollars = (min: number, max: number) => fc.integer({ min, max }).map((n) => n / 1000);
/** Drops undefined fields, so strict schemas see only what was generated. */
const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

const memberArb = fc.record({
  provider: fc.constantFrom('ollama', 'local', 'openai', 'anthropic'),
  tools: option(fc.boolean()),
  json: option(fc.boolean()),
  vision: option(fc.boolean()),
  contextWindow: option(fc.integer({ min: 64, max: 200_000 })),
  price: option(fc.record({ input: cents(3000), output: cents(6000) })),
  strength: fc.integer({ min: 1, max: 10 }),
  tags: fc.subarray(tagNames),
  maxOutputTokens: option(fc.integer({ min: 1, max: 8192 })),
});
type Member = typeof memberArb extends fc.Arbitrary<infer T> ? T : never;

function entryOf(member: Member, i: number): ModelEntryInput {
  const { provider, tools, json, vision, contextWindow, price, strength, tags, maxOutputTokens } = member;
  return defined({
    id: ids[i]!,
    provider,
    model: `model-${i}`,
    capabilities: defined({ tools, json, vision, contextWindow }),
    price,
    strength,
    tags,
    maxOutputTokens,
  });
}

const preferArb = fc.oneof(
  fc.constantFrom('strongest', 'cheapest', 'fastest', 'local', 'cloud' as const),
  fc.record({ tags: fc.subarray(tagNames, { minLength: 1 }) }),
  fc.record({ models: fc.subarray([...ids, 'zz'], { minLength: 1 }) }),
);

const ruleArb: fc.Arbitrary<RoutingRule> = fc
  .record({
    name: option(fc.constantFrom('first', 'second')),
    when: fc.record(
      {
        taskKind: fc.oneof(fc.constantFrom(...taskKinds), fc.subarray(taskKinds, { minLength: 1 })),
        privacy: fc.constantFrom('public', 'sensitive' as const),
        capabilities: fc.subarray(capabilities),
        minTokens: fc.integer({ min: 0, max: 20_000 }),
        budgetLeftBelow: cents(100),
        localQueueAtLeast: fc.integer({ min: 1, max: 10 }),
      },
      { requiredKeys: [] },
    ),
    require: option(
      fc.record(
        {
          location: fc.constantFrom('local', 'cloud' as const),
          tags: fc.subarray(tagNames, { minLength: 1 }),
          models: fc.subarray([...ids, 'zz'], { minLength: 1 }),
        },
        { requiredKeys: [] },
      ),
    ),
    prefer: option(preferArb),
  })
  .map((rule) => defined(rule) as RoutingRule);

const routingArb = fc.record({
  rules: option(fc.array(ruleArb, { maxLength: 4 })),
  spillQueueDepth: fc.integer({ min: 0, max: 6 }),
  downgradeBelow: cents(100),
  detectPii: fc.boolean(),
  expectedOutputTokens: fc.integer({ min: 1, max: 4096 }),
  breakerFailures: fc.integer({ min: 1, max: 3 }),
  cascade: option(
    fc.record({
      models: fc.subarray(ids, { minLength: 2 }),
      check: fc.constantFrom('schema', 'self-check', 'evaluator' as const),
    }),
  ),
});
type Routing = typeof routingArb extends fc.Arbitrary<infer T> ? T : never;

function routingOf(routing: Routing, size: number): RoutingConfigInput {
  const inPool = routing.cascade?.models.filter((id: string) => ids.indexOf(id) < size) ?? [];
  return defined({
    rules: routing.rules,
    spillQueueDepth: routing.spillQueueDepth,
    downgradeBelow: routing.downgradeBelow,
    detectPii: routing.detectPii,
    expectedOutputTokens: routing.expectedOutputTokens,
    breaker: { failures: routing.breakerFailures, halfOpenAfterMs: 3_600_000 },
    cascade: inPool.length >= 2 ? { reason: { models: inPool, check: routing.cascade!.check } } : undefined,
  });
}

/** Plain text or arbitrary characters, with a sample of personal data put somewhere in it, or not. */
const textArb = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(...plainTexts),
      fc.string({ maxLength: 80 }),
      fc.nat({ max: 3000 }).map((n) => 'word '.repeat(n)),
    ),
    fc.option(fc.constantFrom(...piiSamples), { nil: undefined, freq: 2 }),
    fc.nat(),
  )
  .map(([base, pii, at]) => {
    if (!pii) return base;
    const i = at % (base.length + 1);
    return `${base.slice(0, i)} ${pii} ${base.slice(i)}`;
  });

const requestArb = fc
  .record({
    taskKind: option(fc.constantFrom(...taskKinds)),
    privacy: option(fc.constantFrom('public', 'sensitive' as const)),
    text: option(textArb),
    requiredCapabilities: fc.subarray(capabilities),
    estimatedTokens: option(fc.integer({ min: 0, max: 120_000 })),
    budget: option(fc.record({ limitUsd: dollars(1, 5000), remainingUsd: option(dollars(0, 5000)) })),
    preferred: option(fc.constantFrom(...ids)),
    latencyTargetMs: option(fc.integer({ min: 0, max: 5000 })),
  })
  .map((r) => defined({ ...r, budget: r.budget && defined(r.budget) }) as RouteRequest);

/** A hook that answers with an arbitrary selection of the whole pool, in any order, or with nothing. */
const hookArb = option(fc.record({ picks: fc.array(fc.nat(), { maxLength: 8 }), silent: fc.boolean() }));

type Pool = { models: PoolModel[]; byRef: (ref: { provider: string; model: string }) => PoolModel };

function buildRouter(
  members: Member[],
  routing: Routing,
  hook: typeof hookArb extends fc.Arbitrary<infer T> ? T : never,
  options: { depths?: number[]; respond?: (model: PoolModel) => ScriptedChatModel } = {},
) {
  const models = members.map((m, i) => poolModel(entryOf(m, i)));
  const chats = models.map(
    (model) => options.respond?.(model) ?? new ScriptedChatModel({ respond: () => `from ${model.id}` }),
  );
  const routerHook: RouterHook | undefined = hook
    ? () => (hook.silent ? undefined : hook.picks.map((p: number) => models[p % models.length]!))
    : undefined;
  const router = createPolicyRouter({
    models: models.map((model, i) => ({ model, chat: chats[i]! })),
    routing: routingOf(routing, models.length),
    ...(routerHook ? { hook: routerHook } : {}),
    serverQueue: (id) => options.depths?.[ids.indexOf(id)] ?? 0,
  });
  const pool: Pool = {
    models,
    byRef: (ref) => models.find((m) => m.ref.provider === ref.provider && m.ref.model === ref.model)!,
  };
  return { router, pool, routing: routingOf(routing, models.length) };
}

const sensitiveFor = (request: RouteRequest, detectPii: boolean | undefined) =>
  request.privacy === 'sensitive' || (detectPii !== false && request.text !== undefined && containsPii(request.text));

/** The hard limits every model a request may reach must meet. */
function expectAllowed(model: PoolModel, request: RouteRequest, limits: { sensitive: boolean; nativeTools: boolean }) {
  if (limits.sensitive) expect(model.ref.location, `${model.id} took a sensitive request`).toBe('local');
  const needs = request.requiredCapabilities ?? [];
  for (const need of needs)
    if (need !== 'tools') expect(model.capabilities[need], `${model.id} lacks ${need}`).toBe(true);
  if (needs.includes('tools') && limits.nativeTools)
    expect(model.capabilities.tools, `${model.id} lacks native tools`).toBe(true);
  const tokens = request.estimatedTokens ?? (request.text ? estimateTokens(request.text) : 0);
  const window = model.capabilities.contextWindow;
  if (window !== undefined) expect(tokens, `${model.id} window ${window}`).toBeLessThanOrEqual(window);
}

/** Models one call would overrun the budget on are dropped while any model fits; only when none fits are they all kept. */
function expectWithinBudget(chain: PoolModel[], request: RouteRequest, expectedOutputTokens: number) {
  const remaining = request.budget?.remainingUsd;
  if (remaining === undefined) return;
  const tokens = request.estimatedTokens ?? (request.text ? estimateTokens(request.text) : 0);
  const fits = chain.map((m) => callCost(m, tokens, expectedOutputTokens) <= remaining);
  expect(
    fits.every(Boolean) || !fits.some(Boolean),
    `chain ${chain.map((m) => m.id).join(', ')} mixes models within and over the budget`,
  ).toBe(true);
}

const expectCode = (error: unknown, codes: ErrorCode[]) => {
  expect(CadreError.isInstance(error), String(error)).toBe(true);
  expect(codes).toContain((error as CadreError).code);
};

describe('routing properties', () => {
  it('never plans a sensitive request onto a cloud model, nor onto one lacking a required capability, the context window or, while any fits, the budget', async () => {
    let planned = 0;
    let sensitiveWithCloud = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(memberArb, { minLength: 1, maxLength: 6 }),
        routingArb,
        requestArb,
        hookArb,
        fc.array(fc.integer({ min: 0, max: 10 }), { maxLength: 6 }),
        async (members, routingSpec, request, hook, depths) => {
          const { router, pool, routing } = buildRouter(members, routingSpec, hook, { depths });
          const sensitive = sensitiveFor(request, routing.detectPii);
          const expectedOutputTokens = routing.expectedOutputTokens ?? 1024;
          let plan;
          try {
            plan = router.plan(request);
          } catch (error) {
            expectCode(error, ['model_unavailable']);
            await expect(router.select(request)).rejects.toMatchObject({ code: 'model_unavailable' });
            return;
          }
          planned += 1;
          if (sensitive && pool.models.some((m) => m.ref.location === 'cloud')) sensitiveWithCloud += 1;
          expect(plan.privacy).toBe(sensitive ? 'sensitive' : 'public');
          for (const model of plan.chain) expectAllowed(model, request, { sensitive, nativeTools: plan.nativeTools });
          expectWithinBudget(plan.chain, request, expectedOutputTokens);

          const decision = await router.select(request);
          expect(decision.privacy).toBe(plan.privacy);
          const chosen = [decision.ref, ...(decision.fallbacks ?? [])].map((ref) => pool.byRef(ref));
          for (const model of chosen)
            expectAllowed(model, request, { sensitive, nativeTools: decision.nativeTools ?? true });
          expectWithinBudget(chosen, request, expectedOutputTokens);
        },
      ),
      { numRuns: 200 },
    );
    // The generators must reach the interesting cases, or the property proves nothing.
    expect(planned).toBeGreaterThan(20);
    expect(sensitiveWithCloud).toBeGreaterThan(5);
  });

  it('keeps privacy and capabilities for the model that answers, when members fail and when personal data appears mid-conversation', async () => {
    // Mostly answers, so conversations run long enough for personal data to show up mid-way.
    const outcome = fc.oneof(
      { arbitrary: fc.constant('ok' as const), weight: 4 },
      { arbitrary: fc.constantFrom('provider_error', 'rate_limited', 'timeout' as const), weight: 3 },
    );
    let answered = 0;
    let answeredAfterMove = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(memberArb, { minLength: 1, maxLength: 6 }),
        routingArb,
        requestArb,
        hookArb,
        fc.array(fc.array(outcome, { maxLength: 6 }), { minLength: 6, maxLength: 6 }),
        fc.array(fc.record({ pii: fc.boolean(), asTool: fc.boolean() }), { minLength: 2, maxLength: 5 }),
        async (members, routingSpec, request, hook, outcomes, turns) => {
          const respond = (model: PoolModel) => {
            const script = [...outcomes[ids.indexOf(model.id)]!];
            return new ScriptedChatModel({
              respond: (): ScriptedReply => {
                const next = script.shift() ?? 'ok';
                return next === 'ok'
                  ? `from ${model.id}`
                  : { error: new CadreError(next, `${model.id} scripted ${next}`) };
              },
            });
          };
          // Detection on: turning it off is covered above, and a move needs it.
          const { router, pool, routing } = buildRouter(members, { ...routingSpec, detectPii: true }, hook, {
            respond,
          });
          let decision;
          try {
            decision = await router.select(request);
          } catch (error) {
            expectCode(error, ['model_unavailable']);
            return;
          }
          const detect = routing.detectPii !== false;
          let sensitive = sensitiveFor(request, routing.detectPii);
          // The move to local models keeps native tool calling and the request's size (tests below).
          let movedLocal = false;
          const messages: BaseMessage[] = [new HumanMessage(request.text ?? 'Hello')];
          for (const [i, turn] of turns.entries()) {
            let reply: AIMessage;
            try {
              reply = (await decision.model.invoke(messages)) as AIMessage;
            } catch (error) {
              expectCode(error, ['provider_error', 'rate_limited', 'timeout', 'model_unavailable']);
              return;
            }
            answered += 1;
            const info = routedReplyInfo(reply);
            expect(info).toBeDefined();
            const model = pool.models.find((m) => m.id === info!.model)!;
            if (movedLocal && pool.models.some((m) => m.ref.location === 'cloud')) answeredAfterMove += 1;
            expectAllowed(model, request, { sensitive, nativeTools: decision.nativeTools ?? true });
            const content = turn.pii
              ? `Customer record ${i}: ${piiSamples[i % piiSamples.length]}`
              : `Result ${i}: nothing notable`;
            messages.push(
              reply,
              turn.asTool ? new ToolMessage({ content, tool_call_id: `c${i}` }) : new HumanMessage(content),
            );
            if (turn.pii && detect && !sensitive) sensitive = movedLocal = true;
          }
        },
      ),
      { numRuns: 200 },
    );
    expect(answered).toBeGreaterThan(50);
    expect(answeredAfterMove).toBeGreaterThan(0);
  });

  /** A public request answered in the cloud, whose conversation then shows a card number. */
  async function moveLocal(cloudEntry: ModelEntryInput, localEntry: ModelEntryInput, request: RouteRequest) {
    const models = [poolModel(cloudEntry), poolModel(localEntry)];
    const router = createPolicyRouter({
      models: models.map((model) => ({ model, chat: new ScriptedChatModel({ respond: () => `from ${model.id}` }) })),
    });
    const decision = await router.select(request);
    expect(decision.ref.location).toBe('cloud');
    const first = (await decision.model.invoke([new HumanMessage(request.text ?? 'Look up the order')])) as AIMessage;
    const later = (await decision.model.invoke([
      new HumanMessage(request.text ?? 'Look up the order'),
      first,
      new ToolMessage({ content: 'card 4111 1111 1111 1111', tool_call_id: 'c1' }),
    ])) as AIMessage;
    const answered = models.find((m) => m.id === routedReplyInfo(later)!.model)!;
    expect(answered.ref.location).toBe('local');
    return { decision, answered };
  }

  it('keeps native tool calling after a conversation moves local, or refuses to go on without it', async () => {
    const { decision, answered } = await moveLocal(
      { provider: 'anthropic', model: 'claude-sonnet-4' },
      { provider: 'ollama', model: 'llama3.1', capabilities: { tools: true } },
      { requiredCapabilities: ['tools'] },
    );
    expect(decision.nativeTools).toBe(true);
    expect(answered.capabilities.tools).toBe(true);
    await expect(
      moveLocal(
        { provider: 'anthropic', model: 'claude-sonnet-4' },
        { provider: 'ollama', model: 'llama3.1' },
        { requiredCapabilities: ['tools'] },
      ),
    ).rejects.toMatchObject({ code: 'model_unavailable' });
  });

  it('never moves a conversation to a local model whose context window cannot hold the request', async () => {
    const text = 'word '.repeat(600);
    await expect(
      moveLocal(
        { provider: 'openai', model: 'gpt-4o' },
        { provider: 'ollama', model: 'tiny', capabilities: { contextWindow: 512 } },
        { text },
      ),
    ).rejects.toMatchObject({ code: 'model_unavailable' });
    const { answered } = await moveLocal(
      { provider: 'openai', model: 'gpt-4o' },
      { provider: 'ollama', model: 'big', capabilities: { contextWindow: 8192 } },
      { text },
    );
    expect(estimateTokens(text)).toBeLessThanOrEqual(answered.capabilities.contextWindow!);
  });
});

/** Usage as a provider reports it: at most the output cap, and no more input than it was sent. */
function honestModel(model: PoolModel, share: () => { input: number; output: number }, content = '{"ok":true}') {
  return new ScriptedChatModel({
    respond: ({ messages }) => ({
      content,
      usage: {
        inputTokens: Math.floor(estimateMessageTokens(messages) * share().input),
        outputTokens: Math.floor(model.maxOutputTokens! * share().output),
      },
    }),
  });
}

/** One agent step: hold the estimate against the budget, call, then settle with what the reply says it cost. */
async function agentStep(decision: RouteDecision, budget: Budget, messages: BaseMessage[]) {
  const estimate = decision.estimate!(messages);
  const reservation = budget.beforeStep(estimate);
  let reply: AIMessage;
  try {
    reply = (await decision.model.invoke(messages)) as AIMessage;
  } catch (error) {
    reservation.release();
    throw error;
  }
  const usage = usageFromMessage(reply);
  const costUsd = routedReplyInfo(reply)!.costUsd;
  reservation.settle(usage, costUsd);
  return { reply, estimate, usage, costUsd };
}

// Float sums grouped differently may differ in the last place; a real overrun is far larger.
const within = (limit: number) => limit * (1 + 1e-9) + 1e-15;

describe('budget checked before each call', () => {
  const stepArb = fc.record({ chars: fc.integer({ min: 0, max: 6000 }), input: cents(100), output: cents(100) });
  const cappedMembers = fc.array(
    memberArb.map((m) => ({ ...m, maxOutputTokens: m.maxOutputTokens ?? 512 })),
    { minLength: 1, maxLength: 4 },
  );

  /** Runs the steps like an agent; returns what was spent and how the run ended. */
  async function drive(
    router: ReturnType<typeof createPolicyRouter>,
    budget: Budget,
    steps: Array<{ chars: number }>,
    request: (remainingUsd: number | undefined) => RouteRequest,
    onStep: (step: number) => void,
    checkTokens = true,
  ) {
    const messages: BaseMessage[] = [];
    for (const [i, step] of steps.entries()) {
      onStep(i);
      messages.push(new HumanMessage('x'.repeat(step.chars)));
      let outcome;
      try {
        outcome = await agentStep(await router.select(request(budget.remainingCostUsd())), budget, messages);
      } catch (error) {
        return { error };
      }
      // Each call costs no more than its estimate said: that is what keeps the budget.
      expect(outcome.costUsd).toBeLessThanOrEqual(within(outcome.estimate.costUsd));
      if (checkTokens) expect(outcome.usage.totalTokens).toBeLessThanOrEqual(outcome.estimate.tokens);
      messages.push(outcome.reply);
    }
    return { error: undefined };
  }

  it('never lets a run over a fallback chain spend past maxCostUsd or maxTokens; it stops with budget_exceeded', async () => {
    let stopped = 0;
    await fc.assert(
      fc.asyncProperty(
        cappedMembers,
        routingArb,
        dollars(0, 200),
        option(fc.integer({ min: 1, max: 20_000 })),
        fc.array(stepArb, { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        async (members, routingSpec, maxCostUsd, maxTokens, steps, tellRouter) => {
          let current = 0;
          const { router } = buildRouter(members, { ...routingSpec, rules: undefined, cascade: undefined }, undefined, {
            respond: (m) => honestModel(m, () => steps[current]!),
          });
          const budget = new Budget(defined({ maxCostUsd, maxTokens }));
          const request = (remainingUsd: number | undefined) =>
            tellRouter ? { budget: { limitUsd: maxCostUsd, remainingUsd: remainingUsd! } } : {};
          const { error } = await drive(router, budget, steps, request, (i) => (current = i));
          if (error) {
            // A router told the budget may also refuse every model as too dear for what is left.
            expectCode(error, tellRouter ? ['budget_exceeded', 'model_unavailable'] : ['budget_exceeded']);
            stopped += 1;
          }
          const spent = budget.spend();
          expect(spent.costUsd).toBeLessThanOrEqual(within(maxCostUsd));
          if (maxTokens !== undefined) expect(spent.usage.totalTokens).toBeLessThanOrEqual(maxTokens);
        },
      ),
      { numRuns: 200 },
    );
    expect(stopped).toBeGreaterThan(20);
  });

  it('never lets a run over a cascade (any check) spend past maxCostUsd, nor a call past its estimate', async () => {
    let stopped = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          memberArb.map((m) => ({ ...m, maxOutputTokens: m.maxOutputTokens ?? 512 })),
          { minLength: 2, maxLength: 4 },
        ),
        fc.subarray(ids, { minLength: 2 }),
        fc.constantFrom('schema', 'evaluator', 'self-check' as const),
        dollars(0, 200),
        fc.array(stepArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        async (members, levels, check, maxCostUsd, steps, verdicts) => {
          let current = 0;
          const respond = (m: PoolModel) =>
            honestModel(m, () => steps[current]!, verdicts[current]! ? '{"ok":true}' : 'not json');
          const routing = {
            spillQueueDepth: 0,
            downgradeBelow: 0,
            detectPii: true,
            expectedOutputTokens: 1024,
            breakerFailures: 3,
            rules: undefined,
            cascade: { models: levels, check },
          };
          const { router } = buildRouter(members, routing, undefined, { respond });
          const budget = new Budget({ maxCostUsd });
          const request = (): RouteRequest => ({
            taskKind: 'reason',
            ...(check === 'evaluator' ? { checkAnswer: () => ({ ok: verdicts[current]! }) } : {}),
          });
          const { error } = await drive(router, budget, steps, request, (i) => (current = i));
          if (error) {
            expectCode(error, ['budget_exceeded']);
            stopped += 1;
          }
          expect(budget.spend().costUsd).toBeLessThanOrEqual(within(maxCostUsd));
        },
      ),
      { numRuns: 200 },
    );
    expect(stopped).toBeGreaterThan(20);
  });

  /** One call on a cascade whose every answer is `content`, each using its full output cap. */
  async function cascadeCall(levels: ModelEntryInput[], check: 'schema' | 'self-check' | 'evaluator', content: string) {
    const models = levels.map((entry) => poolModel({ maxOutputTokens: 1000, ...entry }));
    const router = createPolicyRouter({
      models: models.map((model) => ({ model, chat: honestModel(model, () => ({ input: 1, output: 1 }), content) })),
      routing: { cascade: { reason: { models: models.map((m) => m.id), check } } },
    });
    const budget = new Budget();
    return agentStep(await router.select({ taskKind: 'reason' }), budget, [
      new HumanMessage('Name the capital of France.'),
    ]);
  }

  // A check call reads the request and the answer; every level of a cascade may run.
  it('estimates a self-check cascade at no less than it costs when a priced level comes first', async () => {
    const { estimate, costUsd } = await cascadeCall(
      [
        { provider: 'openai', model: 'gpt-4o-mini' },
        { provider: 'ollama', model: 'llama3.1' },
      ],
      'self-check',
      'NO: unsure',
    );
    expect(costUsd).toBeLessThanOrEqual(estimate.costUsd);
  });

  it('estimates an evaluator cascade with no caller check at no less than it costs', async () => {
    const { estimate, costUsd } = await cascadeCall(
      [
        { provider: 'openai', model: 'gpt-4o-mini' },
        { provider: 'openai', model: 'gpt-4o' },
      ],
      'evaluator',
      'NO: unsure',
    );
    expect(costUsd).toBeLessThanOrEqual(estimate.costUsd);
  });

  it('estimates a cascade at no fewer tokens than its levels use', async () => {
    const { estimate, usage } = await cascadeCall(
      [
        { provider: 'ollama', model: 'small' },
        { provider: 'ollama', model: 'big' },
      ],
      'schema',
      'not json',
    );
    expect(usage.totalTokens).toBeLessThanOrEqual(estimate.tokens);
  });
});
