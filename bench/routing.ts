/**
 * routing: what the policy router costs per decision, and what routing buys on simulated models.
 *   1 overhead    p50/p99 of router.plan() and router.select() on a 6-model pool (3 local, 3 cloud,
 *                 rules, PII detection on, ~2 KB prompt) against a zero-latency ScriptedChatModel.invoke
 *                 of the same messages, measured interleaved in the same run
 *   2 simulation  1,000 seeded tasks (60% easy, 30% medium, 10% hard) on scripted models that answer
 *                 correctly with a probability set by the model and the task's difficulty: cloud-only,
 *                 local-only, cadre routing (default rules), routing with one extra rule, and a
 *                 local -> cloud cascade with an evaluator check
 *   3 burst       200 tasks arriving at once on a local model with concurrency 4 and an unbounded
 *                 cloud model (real, scaled-down latencies): p95 latency with and without spill
 * Prints a table per part and writes bench/results/routing.json.
 *
 *   npm run bench:routing [-- --iterations 20000 --tasks 1000 --burst 200 --seed 1]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { HumanMessage, SystemMessage, type AIMessage, type BaseMessage } from '@langchain/core/messages';
import {
  createPolicyRouter,
  defaultRoutingRules,
  poolModel,
  routedReplyInfo,
  type PoolModel,
  type RouteRequest,
  type RoutingConfigInput,
} from 'cadre/models';
import { ScriptedChatModel } from 'cadre/testing';
import { fmt, mulberry32, numberFlag, percentile, printTable } from './bench-kit.js';

const options = {
  iterations: numberFlag('--iterations', 20_000),
  tasks: numberFlag('--tasks', 1000),
  burst: numberFlag('--burst', 200),
  seed: numberFlag('--seed', 1),
  /** Burst repeats; each variant reports its run with the median p95. */
  repeats: numberFlag('--repeats', 3),
};

// ---------------------------------------------------------------- shared pieces

const sortedOf = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

// ---------------------------------------------------------------- 1 overhead

const localCaps = { tools: true, json: true, contextWindow: 32_768 };
const cloudCaps = { contextWindow: 128_000 };
const overheadPool: PoolModel[] = [
  poolModel({
    provider: 'ollama',
    model: 'qwen2.5:3b',
    capabilities: localCaps,
    concurrency: 4,
    strength: 3,
    tags: ['small'],
    maxOutputTokens: 1024,
  }),
  poolModel({
    provider: 'ollama',
    model: 'llama3.1:8b',
    capabilities: localCaps,
    concurrency: 4,
    strength: 5,
    tags: ['general'],
    maxOutputTokens: 2048,
  }),
  poolModel({
    provider: 'ollama',
    model: 'qwen2.5-coder:14b',
    capabilities: localCaps,
    concurrency: 2,
    strength: 6,
    tags: ['coder'],
    maxOutputTokens: 2048,
  }),
  poolModel({
    provider: 'openai',
    model: 'gpt-4o-mini',
    capabilities: cloudCaps,
    concurrency: 32,
    strength: 6,
    tags: ['cheap'],
    maxOutputTokens: 4096,
  }),
  poolModel({
    provider: 'openai',
    model: 'gpt-4o',
    capabilities: cloudCaps,
    concurrency: 32,
    strength: 9,
    maxOutputTokens: 4096,
  }),
  poolModel({
    provider: 'anthropic',
    model: 'claude-sonnet-4',
    capabilities: cloudCaps,
    concurrency: 16,
    strength: 9,
    maxOutputTokens: 4096,
  }),
];
const overheadRouting: RoutingConfigInput = {
  detectPii: true,
  rules: [
    ...defaultRoutingRules,
    { name: 'code-on-coder', when: { taskKind: 'code' }, prefer: { tags: ['coder'] } },
    { name: 'reason-with-the-strongest', when: { taskKind: 'reason' }, prefer: 'strongest' },
    { name: 'long-prompts-to-cloud', when: { minTokens: 20_000 }, require: { location: 'cloud' } },
    { name: 'busy-local-to-cloud', when: { localQueueAtLeast: 4 }, prefer: 'cloud' },
  ],
};

/** ~2 KB of ordinary prose with version numbers, counts and dates but no personal data. */
function promptText(): string {
  const sentences = [
    'Review the release notes for version 2.4.1 and list every change that affects the public API.',
    'The team merged 42 pull requests this cycle, 7 of them touching the scheduler and 3 the storage layer.',
    'For each breaking change, say which callers must be updated and how long the migration is likely to take.',
    'Two regressions were reported after the 2024-03-18 build; both concern retries when the queue is full.',
    'Summarise the risk of shipping on Thursday against waiting one more week for the fixes to land.',
    'Keep the answer under three hundred words and end with a short recommendation the lead can act on.',
  ];
  let text = '';
  for (let i = 0; text.length < 2048; i++) text += `${sentences[i % sentences.length]} `;
  return text.slice(0, 2048);
}

interface Timed {
  name: string;
  run: () => unknown;
}

/** Runs every variant in interleaved rounds (so load falls on all alike); per-call ms samples. */
async function timeInterleaved(variants: Timed[], iterations: number, rounds = 10): Promise<Map<string, number[]>> {
  const samples = new Map(variants.map((v) => [v.name, [] as number[]]));
  for (const v of variants) for (let i = 0; i < 2000; i++) await v.run(); // warm-up: JIT
  const perRound = Math.ceil(iterations / rounds);
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const out = samples.get(v.name)!;
      for (let i = 0; i < perRound; i++) {
        const start = performance.now();
        await v.run();
        out.push(performance.now() - start);
      }
    }
  }
  return samples;
}

async function overhead() {
  const chats = new Map(
    overheadPool.map((m) => [m.id, new ScriptedChatModel({ respond: () => 'ok', modelName: m.ref.model })]),
  );
  const router = createPolicyRouter({
    models: overheadPool.map((model) => ({ model, chat: chats.get(model.id)! })),
    routing: overheadRouting,
  });
  const text = promptText();
  const withEmail = `${text.slice(0, 2000)} Reply to jane.doe@example.com.`;
  const messages: BaseMessage[] = [new SystemMessage('You are a careful release reviewer.'), new HumanMessage(text)];
  const base: RouteRequest = {
    taskKind: 'reason',
    requiredCapabilities: ['tools'],
    budget: { limitUsd: 1, remainingUsd: 0.6 },
  };
  const request: RouteRequest = { ...base, text };

  const checked = router.plan(request);
  if (checked.privacy !== 'public' || checked.piiFound.length)
    throw new Error(`the public prompt was flagged: ${checked.piiFound.join(', ')}`);
  if (router.plan({ ...base, text: withEmail }).privacy !== 'sensitive')
    throw new Error('the prompt with an email was not flagged');
  const direct = chats.get(checked.chain[0]!.id)!;

  const variants: Timed[] = [
    { name: 'plan(), 2 KB public prompt', run: () => router.plan(request) },
    { name: 'select(), 2 KB public prompt', run: () => router.select(request) },
    { name: 'select(), 2 KB prompt with an email', run: () => router.select({ ...base, text: withEmail }) },
    { name: 'select(), no text (no PII scan)', run: () => router.select(base) },
    { name: 'ScriptedChatModel.invoke (0 ms)', run: () => direct.invoke(messages) },
    { name: 'select() + routed invoke (0 ms)', run: async () => (await router.select(request)).model.invoke(messages) },
  ];
  const samples = await timeInterleaved(variants, options.iterations);
  const rows = variants.map((v) => {
    const s = sortedOf(samples.get(v.name)!);
    return {
      variant: v.name,
      p50Ms: percentile(s, 0.5),
      p99Ms: percentile(s, 0.99),
      meanMs: s.reduce((a, b) => a + b, 0) / s.length,
    };
  });
  const p50 = (name: string) => rows.find((r) => r.variant === name)!.p50Ms;
  const invokeP50 = p50('ScriptedChatModel.invoke (0 ms)');
  const selectP50 = p50('select(), 2 KB public prompt');
  return {
    rows: rows.map((r) => ({ ...r, vsInvokeP50: r.p50Ms / invokeP50 })),
    selectP50Ms: selectP50,
    selectOverInvokeP50: selectP50 / invokeP50,
    routedCallExtraP50Ms: p50('select() + routed invoke (0 ms)') - invokeP50,
    chosen: checked.chain[0]!.id,
    reason: checked.reason,
    promptChars: text.length,
  };
}

// ---------------------------------------------------------------- 2 simulation

type Difficulty = 'easy' | 'medium' | 'hard';
type Where = 'local' | 'cloud';

interface SimTask {
  id: number;
  difficulty: Difficulty;
  kind: string;
  inputTokens: number;
  outputTokens: number;
  /** One latent draw per task: a model answers correctly iff it is below the model's accuracy. */
  answerDraw: number;
  /** The checker's draw: it rejects a wrong answer iff below `catchRate`, a right one iff below `falseReject`. */
  checkDraw: number;
}

/** Assumed chance of a correct answer, by model and difficulty. */
const accuracy: Record<Where, Record<Difficulty, number>> = {
  local: { easy: 0.92, medium: 0.7, hard: 0.35 },
  cloud: { easy: 0.97, medium: 0.9, hard: 0.75 },
};
const checker = { catchRate: 0.85, falseReject: 0.05 };
const mix: Array<[Difficulty, number]> = [
  ['easy', 0.6],
  ['medium', 0.3],
  ['hard', 0.1],
];
const kindsOf: Record<Difficulty, string[]> = {
  easy: ['extract', 'classify', 'summarise', 'chat'],
  medium: ['summarise', 'code', 'reason', 'chat'],
  hard: ['plan', 'reason', 'code'],
};
const tokensOf: Record<Difficulty, { input: number; output: number }> = {
  easy: { input: 800, output: 150 },
  medium: { input: 2000, output: 500 },
  hard: { input: 4000, output: 1200 },
};
const allKinds = [...new Set(Object.values(kindsOf).flat())];

function makeTasks(n: number, seed: number): SimTask[] {
  const rand = mulberry32(seed);
  const spread = (x: number) => Math.round(x * (0.5 + rand())); // ±50%
  return Array.from({ length: n }, (_, id) => {
    const u = rand();
    let acc = 0;
    const difficulty = mix.find(([, share]) => (acc += share) > u)?.[0] ?? 'hard';
    const kinds = kindsOf[difficulty];
    const kind = kinds[Math.floor(rand() * kinds.length)]!;
    const t = tokensOf[difficulty];
    return {
      id,
      difficulty,
      kind,
      inputTokens: spread(t.input),
      outputTokens: spread(t.output),
      answerDraw: rand(),
      checkDraw: rand(),
    };
  });
}

const correct = (task: SimTask, where: Where) => task.answerDraw < accuracy[where][task.difficulty];
const localEntry = (concurrency: number) =>
  poolModel({ provider: 'ollama', model: 'llama3.1:8b', capabilities: localCaps, concurrency, strength: 5 });
const cloudEntry = () =>
  poolModel({ provider: 'openai', model: 'gpt-4o', capabilities: cloudCaps, concurrency: 256, strength: 9 });

interface Spend {
  calls: number;
  inputTokens: number;
  outputTokens: number;
}

/** A scripted model that answers `task <id>` right or wrong as the quality model says, with the task's usage. */
function simulatedModel(tasks: SimTask[], where: Where, spend: Spend, latencyMs = 0): ScriptedChatModel {
  return new ScriptedChatModel({
    modelName: where,
    latencyMs,
    respond: ({ task }) => {
      const t = tasks[Number(task.split(' ')[1])]!;
      spend.calls += 1;
      spend.inputTokens += t.inputTokens;
      spend.outputTokens += t.outputTokens;
      return {
        content: `${t.id} ${correct(t, where) ? 'right' : 'wrong'}`,
        usage: { inputTokens: t.inputTokens, outputTokens: t.outputTokens },
      };
    },
  });
}

/** The evaluator: judges `<id> right|wrong` with the checker's accuracy, from the task's own draw. */
const checkerFor = (tasks: SimTask[]) => (answer: string) => {
  const [id, verdict] = answer.split(' ');
  const draw = tasks[Number(id)]!.checkDraw;
  const reject = verdict === 'right' ? draw < checker.falseReject : draw < checker.catchRate;
  return reject ? { ok: false, reason: 'the evaluator rejected the answer' } : { ok: true };
};

interface Strategy {
  name: string;
  members: Where[];
  routing?: RoutingConfigInput;
}

const strategies: Strategy[] = [
  { name: 'cloud-only', members: ['cloud'] },
  { name: 'local-only', members: ['local'] },
  { name: 'cadre routing', members: ['local', 'cloud'] },
  {
    name: 'routing + 1 rule',
    members: ['local', 'cloud'],
    routing: {
      rules: [
        ...defaultRoutingRules,
        { name: 'hard-kinds-strongest', when: { taskKind: ['code', 'reason'] }, prefer: 'strongest' },
      ],
    },
  },
  {
    name: 'cadre cascade',
    members: ['local', 'cloud'],
    routing: {
      cascade: Object.fromEntries(
        allKinds.map((k) => [k, { models: ['ollama:llama3.1:8b', 'openai:gpt-4o'], check: 'evaluator' as const }]),
      ),
    },
  },
];

async function simulate(strategy: Strategy, tasks: SimTask[]) {
  const spend: Record<Where, Spend> = {
    local: { calls: 0, inputTokens: 0, outputTokens: 0 },
    cloud: { calls: 0, inputTokens: 0, outputTokens: 0 },
  };
  const entry = { local: () => localEntry(4), cloud: cloudEntry };
  const router = createPolicyRouter({
    models: strategy.members.map((w) => ({ model: entry[w](), chat: simulatedModel(tasks, w, spend[w]) })),
    routing: strategy.routing ?? {},
  });
  const checkAnswer = checkerFor(tasks);
  let costUsd = 0;
  let right = 0;
  let answeredLocally = 0;
  let escalations = 0;
  const byDifficulty: Record<Difficulty, { n: number; right: number }> = {
    easy: { n: 0, right: 0 },
    medium: { n: 0, right: 0 },
    hard: { n: 0, right: 0 },
  };
  for (const t of tasks) {
    const decision = await router.select({
      taskKind: t.kind,
      estimatedTokens: t.inputTokens,
      checkAnswer,
      onReroute: (r) => (escalations += r.kind === 'escalate' ? 1 : 0),
    });
    const reply = (await decision.model.invoke([new HumanMessage(`task ${t.id}`)])) as AIMessage;
    const info = routedReplyInfo(reply)!;
    const ok = String(reply.content).endsWith('right');
    costUsd += info.costUsd;
    right += ok ? 1 : 0;
    answeredLocally += info.location === 'local' ? 1 : 0;
    byDifficulty[t.difficulty].n += 1;
    byDifficulty[t.difficulty].right += ok ? 1 : 0;
  }
  const quality = right / tasks.length;
  const qualityBy = Object.fromEntries(Object.entries(byDifficulty).map(([d, v]) => [d, v.right / v.n])) as Record<
    Difficulty,
    number
  >;
  return {
    strategy: strategy.name,
    costUsd,
    quality,
    qualityBy,
    answeredLocally: answeredLocally / tasks.length,
    escalations,
    spend,
  };
}

// ---------------------------------------------------------------- 3 burst

const burstLatency = { localMs: 20, cloudMs: 50, localConcurrency: 4 }; // 1 ms here stands for 100 ms

interface BurstVariant {
  name: string;
  members: Where[];
  spillQueueDepth: number;
  /** Every task selects its model in one tick before any call is queued (a naive `Promise.all`). */
  sameTick?: boolean;
}

const burstVariants: BurstVariant[] = [
  { name: 'cloud-only', members: ['cloud'], spillQueueDepth: 8 },
  { name: 'local-only', members: ['local'], spillQueueDepth: 8 },
  { name: 'routing, no spill (depth 0)', members: ['local', 'cloud'], spillQueueDepth: 0 },
  { name: 'routing, spill at depth 8', members: ['local', 'cloud'], spillQueueDepth: 8 },
  { name: 'routing, spill at 8, same-tick selects', members: ['local', 'cloud'], spillQueueDepth: 8, sameTick: true },
];

/** The floor: the same burst straight to a scripted cloud-latency model, no router. */
async function directBurst(tasks: SimTask[]) {
  const spend: Spend = { calls: 0, inputTokens: 0, outputTokens: 0 };
  const model = simulatedModel(tasks, 'cloud', spend, burstLatency.cloudMs);
  const start = performance.now();
  const ms = sortedOf(
    await Promise.all(
      tasks.map((t) => model.invoke([new HumanMessage(`task ${t.id}`)]).then(() => performance.now() - start)),
    ),
  );
  return {
    variant: 'no router: scripted cloud model direct',
    p50Ms: percentile(ms, 0.5),
    p95Ms: percentile(ms, 0.95),
    maxMs: ms.at(-1)!,
    idealP95Ms: burstLatency.cloudMs,
  };
}

async function burst(variant: BurstVariant, tasks: SimTask[]) {
  const spend: Record<Where, Spend> = {
    local: { calls: 0, inputTokens: 0, outputTokens: 0 },
    cloud: { calls: 0, inputTokens: 0, outputTokens: 0 },
  };
  const entry = { local: () => localEntry(burstLatency.localConcurrency), cloud: cloudEntry };
  const latency = { local: burstLatency.localMs, cloud: burstLatency.cloudMs };
  const router = createPolicyRouter({
    models: variant.members.map((w) => ({ model: entry[w](), chat: simulatedModel(tasks, w, spend[w], latency[w]) })),
    routing: { spillQueueDepth: variant.spillQueueDepth },
  });
  const served: Array<{ where: Where; ms: number; costUsd: number; ok: boolean }> = [];
  const order: Where[] = [];
  const start = performance.now();
  const call = (t: SimTask, model: { invoke(m: BaseMessage[]): Promise<unknown> }) =>
    model.invoke([new HumanMessage(`task ${t.id}`)]).then((m) => {
      const info = routedReplyInfo(m as AIMessage)!;
      served.push({
        where: info.location,
        ms: performance.now() - start,
        costUsd: info.costUsd,
        ok: String((m as AIMessage).content).endsWith('right'),
      });
    });
  const pending: Array<Promise<void>> = [];
  if (variant.sameTick) {
    pending.push(
      ...tasks.map(async (t) => {
        const decision = await router.select({ taskKind: t.kind, estimatedTokens: t.inputTokens });
        order.push(decision.ref.location);
        await call(t, decision.model);
      }),
    );
  } else {
    // Arrivals one after another: each call is queued before the next task is routed.
    for (const t of tasks) {
      const decision = await router.select({ taskKind: t.kind, estimatedTokens: t.inputTokens });
      order.push(decision.ref.location);
      pending.push(call(t, decision.model));
    }
  }
  await Promise.all(pending);
  const ms = sortedOf(served.map((s) => s.ms));
  // The same assignment on an ideal clock: local calls finish in waves of `concurrency`, cloud ones at once.
  let localSeen = 0;
  const ideal = sortedOf(
    order.map((w) =>
      w === 'local'
        ? (Math.floor(localSeen++ / burstLatency.localConcurrency) + 1) * burstLatency.localMs
        : burstLatency.cloudMs,
    ),
  );
  return {
    variant: variant.name,
    spillQueueDepth: variant.spillQueueDepth,
    sameTick: variant.sameTick ?? false,
    toCloud: served.filter((s) => s.where === 'cloud').length / served.length,
    p50Ms: percentile(ms, 0.5),
    p95Ms: percentile(ms, 0.95),
    maxMs: ms.at(-1)!,
    idealP95Ms: percentile(ideal, 0.95),
    costUsd: served.reduce((a, s) => a + s.costUsd, 0),
    quality: served.filter((s) => s.ok).length / served.length,
  };
}

// ---------------------------------------------------------------- main

const began = performance.now();
console.log(`routing: Node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}\n`);

const part1 = await overhead();
console.log(
  `1. decision overhead (ms per call; ${options.iterations} calls per variant, 10 interleaved rounds, 2,000 warm-ups)`,
);
console.log(
  `   pool: 3 local + 3 cloud, ${overheadRouting.rules!.length} rules, PII detection on; the prompt routes to ${part1.chosen}\n`,
);
printTable(
  ['variant', 'p50 ms', 'p99 ms', 'mean ms', 'p50 / invoke'],
  part1.rows.map((r) => [r.variant, fmt(r.p50Ms, 4), fmt(r.p99Ms, 4), fmt(r.meanMs, 4), fmt(r.vsInvokeP50, 2)]),
);
console.log(
  `\nselect() p50 = ${fmt(part1.selectP50Ms, 4)} ms (target <= 0.1 ms), ${fmt(part1.selectOverInvokeP50, 2)}x a zero-latency scripted call;`,
);
console.log(
  `select() + routed invoke adds ${fmt(part1.routedCallExtraP50Ms, 4)} ms p50 over calling the scripted model directly\n`,
);

const tasks = makeTasks(options.tasks, options.seed);
const count = (d: Difficulty) => tasks.filter((t) => t.difficulty === d).length;
const simRows = [];
for (const s of strategies) simRows.push(await simulate(s, tasks));
const cloudOnly = simRows.find((r) => r.strategy === 'cloud-only')!;
const simulation = simRows.map((r) => ({
  ...r,
  costSaved: 1 - r.costUsd / cloudOnly.costUsd,
  qualityRetained: r.quality / cloudOnly.quality,
}));
console.log(
  `2. simulation: ${tasks.length} tasks (seed ${options.seed}: ${count('easy')} easy, ${count('medium')} medium, ${count('hard')} hard); local llama3.1:8b ($0), cloud gpt-4o ($2.50/$10 per M tokens)`,
);
console.log(
  `   P(correct) local ${Object.values(accuracy.local).join('/')}, cloud ${Object.values(accuracy.cloud).join('/')} (easy/medium/hard); evaluator catches ${pct(checker.catchRate)} of wrong answers, rejects ${pct(checker.falseReject)} of right ones\n`,
);
printTable(
  [
    'strategy',
    'cost USD',
    'quality',
    'easy',
    'medium',
    'hard',
    'answered locally',
    'escalations',
    'cloud tokens',
    'local tokens',
    'cost saved',
    'quality retained',
  ],
  simulation.map((r) => [
    r.strategy,
    fmt(r.costUsd, 3),
    pct(r.quality),
    pct(r.qualityBy.easy),
    pct(r.qualityBy.medium),
    pct(r.qualityBy.hard),
    pct(r.answeredLocally),
    r.escalations,
    r.spend.cloud.inputTokens + r.spend.cloud.outputTokens,
    r.spend.local.inputTokens + r.spend.local.outputTokens,
    pct(r.costSaved),
    pct(r.qualityRetained),
  ]),
);

const burstTasks = tasks.slice(0, options.burst);
const floorRuns: Array<Awaited<ReturnType<typeof directBurst>>> = [];
const burstRuns = burstVariants.map(() => [] as Array<Awaited<ReturnType<typeof burst>>>);
for (let r = 0; r < options.repeats; r++) {
  floorRuns.push(await directBurst(burstTasks));
  for (const [i, v] of burstVariants.entries()) burstRuns[i]!.push(await burst(v, burstTasks));
}
const medianRun = <T extends { p95Ms: number }>(runs: T[]) => ({
  ...[...runs].sort((a, b) => a.p95Ms - b.p95Ms)[Math.floor(runs.length / 2)]!,
  p95MsRuns: runs.map((x) => x.p95Ms),
});
const floor = medianRun(floorRuns);
const burstRows = burstRuns.map(medianRun);
console.log(
  `\n3. burst: ${burstTasks.length} tasks at once; local ${burstLatency.localMs} ms a call, concurrency ${burstLatency.localConcurrency}; cloud ${burstLatency.cloudMs} ms a call, concurrency 256 (1 ms stands for 100 ms); run with the median p95 of ${options.repeats}\n`,
);
const p95Runs = (xs: number[]) => xs.map((x) => fmt(x, 0)).join(' / ');
printTable(
  ['variant', 'to cloud', 'p50 ms', 'p95 ms', 'max ms', 'ideal p95 ms', 'p95 of each run', 'cost USD', 'quality'],
  [
    [
      floor.variant,
      '-',
      fmt(floor.p50Ms, 1),
      fmt(floor.p95Ms, 1),
      fmt(floor.maxMs, 1),
      fmt(floor.idealP95Ms, 1),
      p95Runs(floor.p95MsRuns),
      '-',
      '-',
    ],
    ...burstRows.map((r) => [
      r.variant,
      pct(r.toCloud),
      fmt(r.p50Ms, 1),
      fmt(r.p95Ms, 1),
      fmt(r.maxMs, 1),
      fmt(r.idealP95Ms, 1),
      p95Runs(r.p95MsRuns),
      fmt(r.costUsd, 3),
      pct(r.quality),
    ]),
  ],
);
const spill = burstRows.find((r) => r.variant === 'routing, spill at depth 8')!;
const localOnly = burstRows.find((r) => r.variant === 'local-only')!;
console.log(
  `\np95 with spill / local-only p95 = ${fmt(spill.p95Ms / localOnly.p95Ms, 3)}; spill sent ${pct(spill.toCloud)} of the burst to the cloud model`,
);
const seconds = (performance.now() - began) / 1000;
console.log(`\ntotal ${fmt(seconds, 1)} s`);

const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const report = {
  bench: 'routing',
  node: process.version,
  cores: cpus().length,
  loadAverageAtEnd: loadavg().map((x) => Number(x.toFixed(2))),
  options,
  overhead: part1,
  simulation: {
    assumptions: { mix, kindsOf, tokensOf, accuracy, checker, errorsNested: true },
    strategies: simulation,
  },
  burst: { latency: burstLatency, floor, rows: burstRows },
  seconds,
  at: new Date().toISOString(),
};
writeFileSync(`${dir}routing.json`, `${JSON.stringify(report, null, 2)}\n`);
