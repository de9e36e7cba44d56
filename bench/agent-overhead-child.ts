/**
 * One variant of agent-overhead in a process of its own, run by plain Node on the built package
 * (bench/agent-overhead.ts compiles it): `node agent-overhead-child.js <variant> <iterations> [warm-up]`.
 * Prints { variant, perRunMs, coldMs, peakRssMb } as JSON: `perRunMs` are the runs after the warm-up,
 * `coldMs` the first runs after a short warm-up of 50, timed while V8 still compiles the hot code.
 */
import { rssAfterRuns, variants, type Variant } from './agent-overhead-variants.js';

const [variant, count, warmUpCount] = process.argv.slice(2) as [Variant, string, string | undefined];
const iterations = Number(count);
const warmUp = Number(warmUpCount ?? 500);
/** The cold window: runs 51 to 350 of the process, the first 50 (lazy imports) left out. */
const cold = { from: 50, to: 350 };
const runOnce = await variants[variant]();
const perRunMs: number[] = [];
const coldMs: number[] = [];
let peakRssMb = 0;
// Every run is timed; those of the warm-up (JIT tiers, lazy imports) are not in `perRunMs`.
for (let i = 0; i < warmUp + iterations; i++) {
  const start = performance.now();
  await runOnce();
  const ms = performance.now() - start;
  if (i >= warmUp) perRunMs.push(ms);
  if (i >= cold.from && i < cold.to) coldMs.push(ms);
  if (i + 1 === rssAfterRuns) peakRssMb = process.resourceUsage().maxRSS / 1024;
}
peakRssMb ||= process.resourceUsage().maxRSS / 1024;
process.stdout.write(JSON.stringify({ variant, perRunMs, coldMs, peakRssMb }));
