/**
 * strategies: the reasoning strategies in two parts.
 *   1 game24     success on the 100 Game of 24 puzzles of examples/evals/game24.json with the simulated
 *                model of known quality (`game24Model`, the defaults of `cadre eval`'s simulator):
 *                cot, selfConsistency(5) and treeOfThoughts(b=5) over several seeds (min / median /
 *                max) next to the Tree of Thoughts paper's GPT-4 figures; then how model calls and
 *                tokens grow with ToT's breadth (1, 2, 3, 5) and self-consistency's samples (1, 3, 5, 9).
 *                A simulation: it shows what the search does with a proposer and a judge of the given
 *                quality, not what any language model scores.
 *   2 overhead   framework time per model call of each strategy on a zero-latency scripted model, next
 *                to ReActAgent and to a bare `model.invoke` loop (the floor), in-memory journal, events on.
 * Prints a table per part and writes bench/results/strategies.json.
 *
 *   npm run bench:strategies [-- --seeds 3 --puzzles 100 --iterations 200 --repeats 3]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { z } from 'zod';
import { Budget, InMemoryStepJournal, RunEventStream } from 'cadre';
import { ReActAgent, cot, lats, selfConsistency, treeOfThoughts, type Agent, type AgentContext } from 'cadre/agents';
import { game24Defaults, loadSuite, runEval, type EvalResults } from 'cadre/eval';
import { createFixedRouter } from 'cadre/models';
import { ScriptedChatModel, game24Model, type ScriptContext, type ScriptedReply } from 'cadre/testing';
import { defineTool } from 'cadre/tools';
import { fmt, numberFlag, percentile, printTable, showSpread, spread, type Spread } from './bench-kit.js';

const options = {
  seeds: numberFlag('--seeds', 3),
  puzzles: numberFlag('--puzzles', 100),
  iterations: numberFlag('--iterations', 200),
  repeats: numberFlag('--repeats', 3),
};

const show = (v: Spread, digits = 3) => showSpread(v, digits);
const percent = (x: number) => `${(x * 100).toFixed(0)}%`;

// ---------------------------------------------------------------- part 1: Game of 24, simulated

const suitePath = fileURLToPath(new URL('../examples/evals/game24.json', import.meta.url));

/** One pass over the puzzles with a fresh simulated model: success and mean calls and tokens per puzzle. */
async function game24Pass(agent: () => Agent, seed: number) {
  const suite = await loadSuite(suitePath);
  const cases = suite.cases.slice(0, options.puzzles);
  const model = game24Model({ ...game24Defaults, seed });
  const results: EvalResults = await runEval({
    suite: { ...suite, cases },
    agent: agent(),
    router: createFixedRouter(model),
    // Never cut short: the search's own size is what is measured.
    config: { maxSteps: 2000 },
  });
  const { summary } = results;
  return {
    success: summary.passed / cases.length,
    callsPerPuzzle: summary.modelCalls / cases.length,
    tokensPerPuzzle: summary.usage.totalTokens / cases.length,
  };
}

async function game24Part() {
  const seeds = Array.from({ length: options.seeds }, (_, i) => i + 1);
  const strategies = [
    { name: 'cot', paper: 0.04, agent: () => cot() },
    { name: 'selfConsistency(5)', paper: 0.09, agent: () => selfConsistency({ samples: 5 }) },
    { name: 'treeOfThoughts(b=5)', paper: 0.74, agent: () => treeOfThoughts({ breadth: 5 }) },
  ];
  const success = [];
  for (const s of strategies) {
    const passes = [];
    for (const seed of seeds) passes.push(await game24Pass(s.agent, seed));
    success.push({
      strategy: s.name,
      paperGpt4: s.paper,
      success: spread(passes.map((p) => p.success)),
      callsPerPuzzle: spread(passes.map((p) => p.callsPerPuzzle)),
      tokensPerPuzzle: spread(passes.map((p) => p.tokensPerPuzzle)),
    });
  }
  const breadth = [];
  for (const b of [1, 2, 3, 5]) breadth.push({ b, ...(await game24Pass(() => treeOfThoughts({ breadth: b }), 1)) });
  const samples = [];
  for (const n of [1, 3, 5, 9]) samples.push({ n, ...(await game24Pass(() => selfConsistency({ samples: n }), 1)) });

  const q = game24Defaults;
  console.log(
    `\n1 game24 — SIMULATION: ${options.puzzles} puzzles, simulated model game24Model (accuracy ${q.accuracy}, ` +
      `proposeAccuracy ${q.proposeAccuracy}, valueAccuracy ${q.valueAccuracy}), seeds 1-${options.seeds}; ` +
      'a scripted solver of known quality, not a language model. Paper: Yao et al. 2023, GPT-4 ' +
      '(its CoT-SC took 100 samples, here 5).\n',
  );
  printTable(
    ['strategy', 'success min / median / max', 'paper (GPT-4)', 'model calls per puzzle', 'tokens per puzzle'],
    success.map((r) => [
      r.strategy,
      `${percent(r.success.min)} / ${percent(r.success.median)} / ${percent(r.success.max)}`,
      percent(r.paperGpt4),
      fmt(r.callsPerPuzzle.median, 1),
      fmt(r.tokensPerPuzzle.median, 0),
    ]),
  );
  console.log('\ngrowth with breadth (treeOfThoughts, seed 1) and samples (selfConsistency with early stop, seed 1)\n');
  printTable(
    ['setting', 'success', 'model calls per puzzle', 'tokens per puzzle'],
    [
      ...breadth.map((r) => [`ToT b=${r.b}`, percent(r.success), fmt(r.callsPerPuzzle, 1), fmt(r.tokensPerPuzzle, 0)]),
      ...samples.map((r) => [`SC n=${r.n}`, percent(r.success), fmt(r.callsPerPuzzle, 1), fmt(r.tokensPerPuzzle, 0)]),
    ],
  );
  return { simulated: true, model: { name: 'game24Model', ...game24Defaults }, success, breadth, samples };
}

// ---------------------------------------------------------------- part 2: framework overhead

/** A zero-latency scripted model per variant, each as cheap to answer as it can be. */
const scripted = (respond: (c: ScriptContext) => ScriptedReply) => new ScriptedChatModel({ respond });

const add = defineTool({
  name: 'add',
  description: 'adds two numbers',
  input: z.object({ a: z.number(), b: z.number() }),
  effects: 'read',
  run: ({ a, b }) => String(a + b),
});

/** ReAct: 10 tool steps and an answer, as bench/agent-overhead measures it. */
const reactModel = () =>
  scripted(({ messages }) => {
    const toolSteps = messages.filter((m) => m.getType() === 'tool').length;
    return toolSteps < 10 ? { toolCalls: [{ name: 'add', args: { a: toolSteps, b: 1 } }] } : 'Answer: 10';
  });

/** Tree of Thoughts: 8 first steps valued likely, each kept one answered and valued sure. */
const totModel = () =>
  scripted(({ task }) => {
    const deep = /Steps so far:\n(?!\(none\))/.test(task);
    if (/Propose up to (\d+)/.test(task))
      return deep ? 'Answer: 42' : Array.from({ length: 8 }, (_, i) => `step ${i + 1}`).join('\n');
    return /Answer: 42\n\n/.test(task) ? 'sure' : 'likely';
  });

/** LATS: a read tool step, then an answer its judge scores 10 of 10. */
const latsModel = () =>
  scripted(({ task, messages }) => {
    if (task.includes('Proposed answer:')) return 'Right.\n10';
    if (task.includes('Trajectory so far:')) return 'Promising.\n6';
    if (task.includes('say what to do differently')) return 'Add first.';
    return messages.some((m) => m.getType() === 'tool')
      ? 'Answer: 3'
      : { toolCalls: [{ name: 'add', args: { a: 1, b: 2 } }] };
  });

const chainModel = () => scripted(() => 'Six times seven.\nAnswer: 42');

const variants: Record<string, { agent: () => Agent; model: () => ScriptedChatModel }> = {
  react: {
    agent: () => new ReActAgent({ name: 'react', instructions: 'Add.', tools: [add], maxSteps: 20 }),
    model: reactModel,
  },
  cot: { agent: () => cot(), model: chainModel },
  'selfConsistency(5)': { agent: () => selfConsistency({ samples: 5, earlyStop: false }), model: chainModel },
  'treeOfThoughts(b=5)': { agent: () => treeOfThoughts({ breadth: 5 }), model: totModel },
  lats: { agent: () => lats({ tools: [add] }), model: latsModel },
};

const contextFor = (model: ScriptedChatModel, n: number): AgentContext => {
  const runId = `run_${n}`;
  const events = new RunEventStream(runId);
  events.on('*', () => undefined); // events on: a listener is attached
  return {
    runId,
    router: createFixedRouter(model),
    events,
    budget: new Budget({ maxSteps: 500 }),
    journal: new InMemoryStepJournal(),
    signal: new AbortController().signal,
  };
};

/** p50 ms per model call of one variant, and its calls per run. */
async function measureVariant(name: string): Promise<{ msPerCall: number; callsPerRun: number }> {
  const { agent: make, model: makeModel } = variants[name]!;
  const model = makeModel();
  const agent = make();
  const perRun: number[] = [];
  const warmup = Math.max(5, Math.floor(options.iterations / 10));
  let calls = 0;
  for (let i = 0; i < warmup + options.iterations; i++) {
    const before = model.calls;
    const started = performance.now();
    await agent.run({ id: 'main', instruction: 'What is six times seven?' }, contextFor(model, i));
    if (i >= warmup) {
      perRun.push(performance.now() - started);
      calls = model.calls - before;
    }
  }
  const p50 = percentile(
    perRun.sort((a, b) => a - b),
    0.5,
  );
  return { msPerCall: p50 / calls, callsPerRun: calls };
}

/** The floor: `model.invoke` on a two-message conversation, ms per call at p50 over batches of 100. */
async function measureBare(): Promise<number> {
  const model = chainModel();
  const messages = [new SystemMessage('s'), new HumanMessage('What is six times seven?')];
  const perBatch: number[] = [];
  for (let i = 0; i < 10 + options.iterations / 10; i++) {
    const started = performance.now();
    for (let j = 0; j < 100; j++) await model.invoke(messages);
    if (i >= 10) perBatch.push((performance.now() - started) / 100);
  }
  return percentile(
    perBatch.sort((a, b) => a - b),
    0.5,
  );
}

async function overheadPart() {
  const names = Object.keys(variants);
  const rounds: Array<{ bare: number; round: Map<string, { msPerCall: number; callsPerRun: number }> }> = [];
  for (let r = 0; r < options.repeats; r++) {
    const bare = await measureBare();
    const round = new Map<string, { msPerCall: number; callsPerRun: number }>();
    for (const name of names) round.set(name, await measureVariant(name));
    rounds.push({ bare, round });
  }
  const rows = names.map((name) => {
    const react = rounds.map((r) => r.round.get('react')!.msPerCall);
    return {
      variant: name,
      callsPerRun: rounds[0]!.round.get(name)!.callsPerRun,
      msPerCall: spread(rounds.map((r) => r.round.get(name)!.msPerCall)),
      overheadPerCallMs: spread(rounds.map((r) => r.round.get(name)!.msPerCall - r.bare)),
      ratioToReact: spread(rounds.map((r, i) => r.round.get(name)!.msPerCall / react[i]!)),
    };
  });
  const bare = spread(rounds.map((r) => r.bare));
  console.log(
    `\n2 overhead — ${options.iterations} runs per strategy, ${options.repeats} repeats, zero-latency scripted model, ` +
      'in-memory journal, events on; min / median / max over the repeats of each p50\n',
  );
  printTable(
    ['variant', 'model calls per run', 'ms per call', 'overhead ms per call (vs bare)', 'x react'],
    [
      ['bare model.invoke', 1, show(bare), '0', ''],
      ...rows.map((r) => [
        r.variant,
        r.callsPerRun,
        show(r.msPerCall),
        show(r.overheadPerCallMs),
        show(r.ratioToReact, 2),
      ]),
    ],
  );
  return { bareMsPerCall: bare, rows };
}

const game24 = await game24Part();
const overhead = await overheadPart();
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(
  `${dir}strategies.json`,
  `${JSON.stringify(
    {
      bench: 'strategies',
      node: process.version,
      cpus: cpus().length,
      loadavg: loadavg(),
      options,
      game24,
      overhead,
      at: new Date().toISOString(),
    },
    null,
    2,
  )}\n`,
);
