/**
 * agent-overhead: framework time per model call for the same 10-tool-call task on the same
 * zero-latency ScriptedChatModel, each way in its own child process (for a clean peak RSS):
 *   bare           a plain loop over model.invoke / tool.invoke (the floor)
 *   cadre          cadre's ReActAgent alone, events on, in-memory journal
 *   run            what users call: run({ goal, agent, model }), default file database, events on
 *   run-memory-db  the same with databasePath ':memory:'
 *   openai-agents  the OpenAI Agents SDK's Runner.run (tracing off) over a zero-latency model of its own
 *   stategraph     a hand-written LangGraph StateGraph agent -> ToolNode loop
 *   prebuilt       LangGraph's createReactAgent
 * Then a run's fixed cost: the same with no tool step (one model call), run() against bare.
 * Each child runs its variant `--warm-up` times (default 500) before the timed runs: the same for
 * every variant, long enough for V8 to have compiled the hot code (cadre's run() path reaches its
 * steady speed after ~400 runs, the bare loop after ~100). The first runs after a warm-up of 50 are
 * reported too ("cold"), as a short-lived process sees them.
 * The whole set is repeated (default three times); the table shows min / median / max of the p50s.
 * Prints a table and writes bench/results/agent-overhead.json.
 *
 *   npm run bench:agent [-- --iterations 300 --repeats 3 --warm-up 500]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { rssAfterRuns, variants, type Variant } from './agent-overhead-variants.js';
import { numberFlag, percentile, printTable, showSpread, spread, type Spread } from './bench-kit.js';

const require = createRequire(import.meta.url);

interface Sample {
  variant: Variant;
  perRunMs: number[];
  coldMs: number[];
  peakRssMb: number;
}

interface Measured {
  p50: number;
  /** p50 of the process's runs 51-350, while V8 still compiles. */
  coldP50: number;
  rss: number;
}

const p50Of = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

/**
 * Children run the way users run cadre: plain Node on the built package (`npm run build`), not
 * through tsx, whose loader would add its own memory to each child's peak RSS. The two bench files
 * a child needs are compiled next to the results; `cadre` resolves to dist/ by the package's exports.
 */
function compileChild(): string {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: 'inherit',
  });
  const out = fileURLToPath(new URL('./results/.child/', import.meta.url));
  mkdirSync(out, { recursive: true });
  for (const name of ['agent-overhead-child', 'agent-overhead-variants']) {
    const source = readFileSync(fileURLToPath(new URL(`./${name}.ts`, import.meta.url)), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(`${out}${name}.js`, outputText);
  }
  return `${out}agent-overhead-child.js`;
}

/** p50 ms per run of each variant (warm and cold), and its peak RSS, with `steps` tool steps per run. */
function measure(
  script: string,
  list: Variant[],
  { iterations, warmUp }: Counts,
  steps: number,
): Map<Variant, Measured> {
  const out = new Map<Variant, Measured>();
  for (const variant of list) {
    const text = execFileSync(process.execPath, [script, variant, String(iterations), String(warmUp)], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, BENCH_TOOL_STEPS: String(steps) },
    });
    const sample = JSON.parse(text) as Sample;
    out.set(variant, { p50: p50Of(sample.perRunMs), coldP50: p50Of(sample.coldMs), rss: sample.peakRssMb });
  }
  return out;
}

interface Counts {
  iterations: number;
  warmUp: number;
}

const show = (v: Spread, digits = 3) => showSpread(v, digits);

function parent(counts: Counts, repeats: number): void {
  const { iterations, warmUp } = counts;
  const all = Object.keys(variants) as Variant[];
  const modelCalls = 11;
  const script = compileChild();
  const rounds = Array.from({ length: repeats }, () => ({
    main: measure(script, all, counts, 10),
    fixed: measure(script, ['bare', 'run'], counts, 0),
  }));
  const rows = all.map((variant) => {
    const perCall = rounds.map((r) => r.main.get(variant)!.p50 / modelCalls);
    const overhead = rounds.map((r) => (r.main.get(variant)!.p50 - r.main.get('bare')!.p50) / modelCalls);
    const ratio = rounds.map((r) => r.main.get(variant)!.p50 / r.main.get('bare')!.p50);
    return {
      variant,
      /** Each repeat's p50 ms per run, in the order measured. */
      p50MsPerRun: rounds.map((r) => r.main.get(variant)!.p50),
      perCallMs: spread(perCall),
      overheadPerCallMs: spread(overhead),
      ratioToBare: spread(ratio),
      peakRssMb: spread(rounds.map((r) => r.main.get(variant)!.rss)),
    };
  });
  const fixed = spread(rounds.map((r) => r.fixed.get('run')!.p50 - r.fixed.get('bare')!.p50));
  // The same measures over the cold window (runs 51-350 of each process), when a process gets that far.
  const coldMeasured = warmUp + iterations > 50;
  const coldOverhead = spread(
    rounds.map((r) => (r.main.get('run')!.coldP50 - r.main.get('bare')!.coldP50) / modelCalls),
  );
  const coldFixed = spread(rounds.map((r) => r.fixed.get('run')!.coldP50 - r.fixed.get('bare')!.coldP50));
  console.log(
    `agent-overhead: ${iterations} runs x ${modelCalls} model calls after ${warmUp} warm-up runs, ${repeats} repeats, zero-latency scripted model, Node ${process.version}`,
  );
  console.log('min / median / max over the repeats of each p50\n');
  printTable(
    ['variant', 'ms per call', 'overhead ms per call (vs bare)', 'x bare', `peak RSS MB (${rssAfterRuns} runs)`],
    rows.map((r) => [
      r.variant,
      show(r.perCallMs),
      show(r.overheadPerCallMs),
      show(r.ratioToBare, 2),
      show(r.peakRssMb, 0),
    ]),
  );
  console.log(
    `\nrun() fixed cost (create -> run.completed, one model call, no tools) over bare: ${show(fixed)} ms (target <= 1 ms)`,
  );
  const run = rows.find((r) => r.variant === 'run')!;
  console.log(`run() overhead per model call p50: ${show(run.overheadPerCallMs)} ms (target <= 0.10 ms)`);
  console.log(
    `cold (runs 51-350 of a process, V8 still compiling): ${
      coldMeasured
        ? `run() overhead per model call ${show(coldOverhead)} ms, fixed cost ${show(coldFixed)} ms`
        : `not measured, a process makes ${warmUp + iterations} runs`
    }`,
  );
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const report = {
    bench: 'agent-overhead',
    node: process.version,
    iterations,
    warmUp,
    repeats,
    modelCalls,
    rows,
    runFixedCostMs: fixed,
    cold: coldMeasured ? { runs: '51-350', runOverheadPerCallMs: coldOverhead, runFixedCostMs: coldFixed } : null,
    at: new Date().toISOString(),
  };
  writeFileSync(`${dir}agent-overhead.json`, `${JSON.stringify(report, null, 2)}\n`);
}

parent(
  { iterations: numberFlag('--iterations', 300), warmUp: numberFlag('--warm-up', 500) },
  numberFlag('--repeats', 3),
);
