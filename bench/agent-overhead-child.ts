/**
 * One variant of agent-overhead in a process of its own, run by plain Node on the built package
 * (bench/agent-overhead.ts compiles it): `node agent-overhead-child.js <variant> <iterations>`.
 * Prints { variant, perRunMs, peakRssMb } as JSON.
 */
import { rssAfterRuns, variants, type Variant } from './agent-overhead-variants.js';

const [variant, count] = process.argv.slice(2) as [Variant, string];
const iterations = Number(count);
const runOnce = await variants[variant]();
const warmUp = Math.min(50, iterations);
for (let i = 0; i < warmUp; i++) await runOnce(); // warm-up: JIT and lazy imports
const perRunMs: number[] = [];
let peakRssMb = 0;
for (let i = 0; i < iterations; i++) {
  const start = performance.now();
  await runOnce();
  perRunMs.push(performance.now() - start);
  if (warmUp + i + 1 === rssAfterRuns) peakRssMb = process.resourceUsage().maxRSS / 1024;
}
peakRssMb ||= process.resourceUsage().maxRSS / 1024;
process.stdout.write(JSON.stringify({ variant, perRunMs, peakRssMb }));
