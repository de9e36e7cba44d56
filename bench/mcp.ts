/**
 * mcp: what a tool call costs through cadre (ToolExecutor + its MCP client) against the MCP SDK's
 * own `callTool` on the same stdio server (`@modelcontextprotocol/server-everything`, tool `echo`,
 * same arguments), bare and with the guards a run gives every call (policy, audit, pinning), and the
 * cold start of a lazily activated server (spawn + initialize + first call).
 * Every path has its own server process; rounds interleave the paths so load falls on all alike.
 * Besides latency, this process's CPU time per call (user + system): cadre's own work, which the
 * load of a shared machine moves less than it moves latency. Prints a table and writes
 * bench/results/mcp.json.
 *
 *   npm run bench:mcp [-- --calls 6000 --rounds 12]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { RunEventStream, loadConfig, openConfiguredStore } from 'cadre';
import { ToolExecutor, createMcpToolset, type McpToolset } from 'cadre/tools';
import { openRunTools } from '../src/runtime/run-tools.js';
import { percentile } from './bench-kit.js';

const option = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
};
const calls = option('calls', 6000);
const rounds = option('rounds', 12);
const warmUp = 1000; // JIT: the first few hundred calls of each path are several times slower
const perRound = Math.ceil(calls / rounds);

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const server = { command: process.execPath, args: [everything, 'stdio'] };
const args = (i: number) => ({ message: `hello ${i}` });
const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
  };
};

interface Path {
  name: string;
  call(i: number): Promise<unknown>;
  close(): Promise<void>;
}

/** The SDK alone, handed per call what `options` returns. */
async function sdkPath(name: string, options: () => Parameters<Client['callTool']>[2]): Promise<Path> {
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(new StdioClientTransport(server));
  return {
    name,
    call: (i) => client.callTool({ name: 'echo', arguments: args(i) }, undefined, options()),
    close: () => client.close(),
  };
}

/** Through `ToolExecutor.execute`; `asInRun` adds what a run adds: a progress listener and the run's signal. */
async function cadrePath(name: string, dir: string, asInRun: boolean): Promise<Path> {
  const cachePath = join(dir, 'mcp-tools.json');
  const toolset = await createMcpToolset({
    servers: { everything: server },
    cachePath,
    ...(asInRun ? { onEvent: () => undefined } : {}),
  });
  const executor = new ToolExecutor({ tools: toolset.tools() });
  const tool = toolset.tools().find((t) => t.mcpName === 'echo')!.name;
  const run = new AbortController();
  const context = { runId: 'bench', taskId: 't', step: 1, ...(asInRun ? { signal: run.signal } : {}) };
  return {
    name,
    call: async (i) => {
      const outcome = await executor.execute({ id: `c${i}`, name: tool, args: args(i) }, context);
      if (!outcome.ok) throw new Error(`echo failed: ${outcome.output}`);
    },
    close: () => toolset.close(),
  };
}

/**
 * As a run calls an MCP tool under the defaults a user gets: the guards and the MCP toolset from
 * `openRunTools`, as every run gets them (a policy allowing the tool, approvals, rate limits, tool
 * pins and the audit log in the run's file database, its row joining the connection's write batch),
 * passed in the call's context as the ReAct agent passes them, the run's signal, and output
 * delimited as untrusted. Not the run's events nor the tool-call journal (this echo has effects
 * `write`, so a run would journal it): each is a durable write of its own, measured by bench:sqlite.
 */
async function guardedPath(name: string, dir: string): Promise<Path> {
  const config = loadConfig(
    { dataDir: dir, mcpServers: { everything: server }, toolPolicy: { allow: ['everything__echo'] }, logLevel: 'warn' },
    {},
  );
  const store = openConfiguredStore(config);
  const runTools = await openRunTools(config, store, new RunEventStream('bench'));
  const executor = new ToolExecutor({ tools: runTools.tools, delimitOutput: true });
  const tool = runTools.tools.find((t) => 'mcpName' in t && t.mcpName === 'echo')!.name;
  const run = new AbortController();
  const context = { runId: 'bench', taskId: 't', step: 1, signal: run.signal, ...runTools.guards, agent: 'bench' };
  return {
    name,
    call: async (i) => {
      const outcome = await executor.execute({ id: `c${i}`, name: tool, args: args(i) }, context);
      if (!outcome.ok || !outcome.output.startsWith('<tool_output')) throw new Error(`echo failed: ${outcome.output}`);
    },
    close: async () => {
      await runTools.close();
      store.close();
    },
  };
}

/** A toolset created from a warm tool-list cache, timed from the first call to its result. */
async function coldStart(dir: string): Promise<number> {
  const cachePath = join(dir, 'mcp-tools.json');
  const toolset: McpToolset = await createMcpToolset({ servers: { everything: server }, cachePath });
  try {
    const executor = new ToolExecutor({ tools: toolset.tools() });
    const tool = toolset.tools().find((t) => t.mcpName === 'echo')!.name;
    const started = performance.now();
    const first = await executor.execute(
      { id: 'cold', name: tool, args: args(0) },
      { runId: 'bench', taskId: 't', step: 1 },
    );
    if (!first.ok) throw new Error(`echo failed: ${first.output}`);
    return performance.now() - started;
  } finally {
    await toolset.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'cadre-bench-mcp-'));
const paths: Path[] = [];
try {
  // Fills the tool-list cache, so later toolsets start lazily from it.
  await (await createMcpToolset({ servers: { everything: server }, cachePath: join(dir, 'mcp-tools.json') })).close();
  const cold = [await coldStart(dir), await coldStart(dir), await coldStart(dir)];

  const noop = () => undefined;
  const guarded = 'cadre with policy, audit and pinning';
  paths.push(
    await sdkPath('SDK callTool', () => undefined),
    await sdkPath('SDK callTool, signal', () => ({ signal: new AbortController().signal })),
    await cadrePath('cadre', dir, false),
    await sdkPath('SDK callTool, signal+progress', () => ({ signal: new AbortController().signal, onprogress: noop })),
    await cadrePath('cadre as in a run', dir, true),
    await guardedPath(guarded, dir),
  );
  for (const path of paths) for (let i = 0; i < warmUp; i++) await path.call(i);
  const samples = new Map(paths.map((path) => [path.name, [] as number[]]));
  const cpu = new Map(paths.map((path) => [path.name, 0]));
  for (let round = 0; round < rounds; round++) {
    // Rotate the order too, so no path always runs right after the same other one.
    for (let k = 0; k < paths.length; k++) {
      const path = paths[(round + k) % paths.length]!;
      const out = samples.get(path.name)!;
      const used = process.cpuUsage();
      for (let i = 0; i < perRound; i++) {
        const t = performance.now();
        await path.call(i);
        out.push(performance.now() - t);
      }
      const { user, system } = process.cpuUsage(used);
      cpu.set(path.name, cpu.get(path.name)! + user + system);
    }
  }
  const stats = Object.fromEntries(
    [...samples].map(([name, s]) => [name, { ...summary(s), cpuUs: cpu.get(name)! / s.length }]),
  );
  const ratio = (a: string, b: string) => stats[a]!.p50 / stats[b]!.p50;
  const ratios = {
    cadreVsSdk: ratio('cadre', 'SDK callTool'),
    cadreVsSdkWithSignal: ratio('cadre', 'SDK callTool, signal'),
    runVsSdk: ratio('cadre as in a run', 'SDK callTool'),
    runVsSdkWithSignalAndProgress: ratio('cadre as in a run', 'SDK callTool, signal+progress'),
    guardedVsSdk: ratio(guarded, 'SDK callTool'),
    guardedVsSdkWithSignal: ratio(guarded, 'SDK callTool, signal'),
    guardedVsSdkWithSignalAndProgress: ratio(guarded, 'SDK callTool, signal+progress'),
  };

  console.log(
    `mcp: ${perRound * rounds} calls per path (${rounds} interleaved rounds) of server-everything's echo over stdio, ${warmUp} warm-up calls each, Node ${process.version}\n`,
  );
  console.log('path                                    p50 ms   p95 ms   p99 ms   mean ms   cpu µs');
  for (const [name, s] of Object.entries(stats)) {
    console.log(
      `${name.padEnd(38)} ${s.p50.toFixed(3).padStart(7)} ${s.p95.toFixed(3).padStart(8)} ${s.p99.toFixed(3).padStart(8)} ${s.mean.toFixed(3).padStart(9)} ${s.cpuUs.toFixed(1).padStart(8)}`,
    );
  }
  console.log(
    `\np50 ratios (target <= 1.1): cadre/SDK ${ratios.cadreVsSdk.toFixed(3)}, cadre/SDK with a signal ${ratios.cadreVsSdkWithSignal.toFixed(3)}`,
  );
  console.log(
    `as in a run: /SDK ${ratios.runVsSdk.toFixed(3)}, /SDK with a signal and progress ${ratios.runVsSdkWithSignalAndProgress.toFixed(3)}`,
  );
  console.log(
    `with policy, audit and pinning: /SDK ${ratios.guardedVsSdk.toFixed(3)}, /SDK with a signal ${ratios.guardedVsSdkWithSignal.toFixed(3)}, /SDK with a signal and progress ${ratios.guardedVsSdkWithSignalAndProgress.toFixed(3)}`,
  );
  console.log(
    `cold start of a lazy server (spawn, initialize, first call): ${cold.map((c) => `${c.toFixed(0)} ms`).join(', ')}`,
  );

  const out = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(out, { recursive: true });
  writeFileSync(
    `${out}mcp.json`,
    `${JSON.stringify(
      {
        bench: 'mcp',
        node: process.version,
        calls: perRound * rounds,
        rounds,
        warmUp,
        sdk: stats['SDK callTool'],
        sdkWithSignal: stats['SDK callTool, signal'],
        cadre: stats.cadre,
        sdkWithSignalAndProgress: stats['SDK callTool, signal+progress'],
        cadreAsInRun: stats['cadre as in a run'],
        cadreGuarded: stats[guarded],
        ratioP50: ratios.cadreVsSdk,
        ratioP50WithSignal: ratios.cadreVsSdkWithSignal,
        ratioP50AsInRun: ratios.runVsSdk,
        ratioP50AsInRunWithSignalAndProgress: ratios.runVsSdkWithSignalAndProgress,
        ratioP50Guarded: ratios.guardedVsSdk,
        ratioP50GuardedWithSignal: ratios.guardedVsSdkWithSignal,
        ratioP50GuardedWithSignalAndProgress: ratios.guardedVsSdkWithSignalAndProgress,
        coldStartMs: cold,
        at: new Date().toISOString(),
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await Promise.all(paths.map((path) => path.close()));
  rmSync(dir, { recursive: true, force: true });
}
