/**
 * mcp: what a tool call costs through cadre (ToolExecutor + its MCP client) against the MCP SDK's
 * own `callTool` on the same stdio server (`@modelcontextprotocol/server-everything`, tool `echo`),
 * and the cold start of a lazily activated server (spawn + initialize + first call).
 * Prints a table and writes bench/results/mcp.json.
 *
 *   npm run bench:mcp [-- --calls 2000]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolExecutor, createMcpToolset } from 'cadre/tools';

const calls = Number(process.argv[process.argv.indexOf('--calls') + 1] || 2000);
const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const server = { command: process.execPath, args: [everything, 'stdio'] };
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
};

const warmUp = 1000; // JIT: the first few hundred calls of each path are several times slower

/** The SDK alone; `withSignal` also hands each call an AbortSignal, as cadre always does. */
async function direct(withSignal: boolean): Promise<number[]> {
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(new StdioClientTransport(server));
  const call = (i: number) => client.callTool({ name: 'echo', arguments: { message: `hello ${i}` } }, undefined, withSignal ? { signal: new AbortController().signal } : undefined);
  for (let i = 0; i < warmUp; i++) await call(i);
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await call(i);
    samples.push(performance.now() - t);
  }
  await client.close();
  return samples;
}

async function throughCadre(dir: string): Promise<{ samples: number[]; coldMs: number }> {
  const cachePath = join(dir, 'mcp-tools.json');
  // First toolset lists the tools once (fills the cache); the measured one starts lazily from it.
  await (await createMcpToolset({ servers: { everything: server }, cachePath })).close();
  const toolset = await createMcpToolset({ servers: { everything: server }, cachePath });
  const executor = new ToolExecutor({ tools: toolset.tools() });
  const name = toolset.tools().find((t) => t.mcpName === 'echo')!.name;
  const call = (i: number) => executor.execute({ id: `c${i}`, name, args: { message: `hello ${i}` } }, { runId: 'bench', taskId: 't', step: 1 });
  let t = performance.now();
  const first = await call(-1);
  const coldMs = performance.now() - t;
  if (!first.ok) throw new Error(`echo failed: ${first.output}`);
  for (let i = 0; i < warmUp; i++) await call(i);
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    t = performance.now();
    await call(i);
    samples.push(performance.now() - t);
  }
  await toolset.close();
  return { samples, coldMs };
}

const dir = mkdtempSync(join(tmpdir(), 'cadre-bench-mcp-'));
try {
  // Interleave rounds of each so that load on the machine falls on all alike.
  const sdkSamples: number[] = [];
  const sdkSignalSamples: number[] = [];
  const cadreSamples: number[] = [];
  const cold: number[] = [];
  for (let round = 0; round < 3; round++) {
    sdkSamples.push(...(await direct(false)));
    sdkSignalSamples.push(...(await direct(true)));
    const through = await throughCadre(dir);
    cadreSamples.push(...through.samples);
    cold.push(through.coldMs);
  }
  const sdk = summary(sdkSamples);
  const sdkSignal = summary(sdkSignalSamples);
  const cadre = summary(cadreSamples);
  console.log(`mcp: ${calls * 3} calls per path of server-everything's echo over stdio, ${warmUp} warm-up calls each, Node ${process.version}\n`);
  console.log('path                          p50 ms   p95 ms   mean ms');
  for (const [name, s] of [['SDK callTool', sdk], ['SDK callTool with a signal', sdkSignal], ['cadre executor + MCP client', cadre]] as const) {
    console.log(`${name.padEnd(28)} ${s.p50.toFixed(3).padStart(7)} ${s.p95.toFixed(3).padStart(8)} ${s.mean.toFixed(3).padStart(9)}`);
  }
  console.log(`\nratio cadre/SDK (p50): ${(cadre.p50 / sdk.p50).toFixed(3)}; against the SDK with a signal: ${(cadre.p50 / sdkSignal.p50).toFixed(3)} (target <= 1.1)`);
  console.log(`cold start of a lazy server (spawn, initialize, first call): ${cold.map((c) => `${c.toFixed(0)} ms`).join(', ')}`);
  const out = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}mcp.json`, `${JSON.stringify({ bench: 'mcp', node: process.version, calls, sdk, sdkWithSignal: sdkSignal, cadre, ratioP50: cadre.p50 / sdk.p50, ratioP50WithSignal: cadre.p50 / sdkSignal.p50, coldStartMs: cold, at: new Date().toISOString() }, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
