/**
 * agent-overhead: framework time per model call for the same 10-tool-call task on the same
 * zero-latency ScriptedChatModel, four ways, each in its own child process (for a clean peak RSS):
 *   bare        a plain loop over model.invoke / tool.invoke (the floor)
 *   cadre       cadre's ReActAgent, events on, in-memory journal
 *   stategraph  a hand-written LangGraph StateGraph agent -> ToolNode loop
 *   prebuilt    LangGraph's createReactAgent
 * Prints a table and writes bench/results/agent-overhead.json.
 *
 *   npm run bench:agent [-- --iterations 300]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { variants, type Variant } from './agent-overhead-variants.js';
import { percentile } from './bench-kit.js';

const modelCalls = 11; // 10 tool-calling steps and the answer

interface Sample {
  variant: Variant;
  perCallMs: number[];
  peakRssMb: number;
}

async function child(variant: Variant, iterations: number): Promise<void> {
  const runOnce = await variants[variant]();
  for (let i = 0; i < Math.min(50, iterations); i++) await runOnce(); // warm-up: JIT and lazy imports
  const perCallMs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await runOnce();
    perCallMs.push((performance.now() - start) / modelCalls);
  }
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ variant, perCallMs, peakRssMb } satisfies Sample));
}

function parent(iterations: number): void {
  const script = fileURLToPath(import.meta.url);
  const samples = (Object.keys(variants) as Variant[]).map((variant) => {
    const out = execFileSync(
      process.execPath,
      [...process.execArgv, script, '--child', variant, '--iterations', String(iterations)],
      {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return JSON.parse(out) as Sample;
  });
  const floor = percentile(
    [...samples.find((s) => s.variant === 'bare')!.perCallMs].sort((a, b) => a - b),
    0.5,
  );
  const rows = samples.map((s) => {
    const sorted = [...s.perCallMs].sort((a, b) => a - b);
    const p50 = percentile(sorted, 0.5);
    return {
      variant: s.variant,
      p50Ms: p50,
      p95Ms: percentile(sorted, 0.95),
      overheadP50Ms: Math.max(0, p50 - floor),
      peakRssMb: s.peakRssMb,
    };
  });
  const overhead = (v: Variant) => rows.find((r) => r.variant === v)!.overheadP50Ms;
  const ratio = overhead('cadre') / overhead('stategraph');
  console.log(
    `agent-overhead: ${iterations} runs x ${modelCalls} model calls each, zero-latency scripted model, Node ${process.version}\n`,
  );
  console.log('variant      p50 ms/call  p95 ms/call  overhead p50 (vs bare)  peak RSS MB');
  for (const r of rows) {
    console.log(
      `${r.variant.padEnd(12)} ${r.p50Ms.toFixed(4).padStart(11)}  ${r.p95Ms.toFixed(4).padStart(11)}  ${r.overheadP50Ms.toFixed(4).padStart(22)}  ${r.peakRssMb.toFixed(0).padStart(11)}`,
    );
  }
  console.log(`\ncadre overhead / StateGraph-loop overhead = ${ratio.toFixed(3)} (target <= 0.1)`);
  console.log(`cadre overhead per model call p50 = ${overhead('cadre').toFixed(4)} ms (target <= 0.1 ms)`);
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const report = {
    bench: 'agent-overhead',
    node: process.version,
    iterations,
    modelCalls,
    rows,
    cadreVsStateGraphOverhead: ratio,
    at: new Date().toISOString(),
  };
  writeFileSync(`${dir}agent-overhead.json`, `${JSON.stringify(report, null, 2)}\n`);
}

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const iterations = Number(flag('--iterations') ?? 300);
const childVariant = flag('--child') as Variant | undefined;
if (childVariant) await child(childVariant, iterations);
else parent(iterations);
