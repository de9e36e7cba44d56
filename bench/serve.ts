/**
 * serve: cadre's HTTP API under load, on scripted models, each part repeated (default three times;
 * the table shows min / median / max of the repeats):
 *   fan-out    N SSE clients (default 1,000) following 100 runs served by one `serveHttpApi` process
 *              (a child, so its peak RSS is its own); each client reads with `cadre/client` from
 *              seq 1. The runs wait at their first tool call until every client follows one, then
 *              run on together: peak RSS of the server, delivery latency from an event's emit
 *              (`ts`, a ms clock shared by both processes) to the client for events emitted after
 *              the client connected, events lost against the stored log (must be 0)
 *   overhead   the same one-call run through `POST /runs` (`stream: true`, read to its final frame)
 *              against `runNamed()` in-process, interleaved, same registry and database file
 * Prints a table and writes bench/results/serve.json.
 *
 *   npm run bench:serve [-- --clients 1000 --runs 100 --latency 25-75 --iterations 200 --repeats 3]
 * `--latency 50` makes every model call take exactly 50 ms: all runs then step in lockstep (worst case).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { defineApp, openCadreStore, runNamed, withBuiltins, type CadreApp } from 'cadre';
import { createClient } from 'cadre/client';
import { ScriptedChatModel } from 'cadre/testing';
import { defineTool } from 'cadre/tools';
import { createHttpApi, serveHttpApi } from '../src/server/http/index.js';
import { fmt, percentile, printTable } from './bench-kit.js';

/** Opened by the parent once every client follows its run, so the events after it are all seen live. */
let releaseGate!: () => void;
const gate = new Promise<void>((resolve) => (releaseGate = resolve));

const tick = defineTool({
  name: 'tick',
  description: 'Counts one step; the first waits for the gate.',
  input: z.object({ n: z.number() }),
  effects: 'read',
  run: async ({ n }) => {
    if (n === 0) await gate;
    return `tick ${n}`;
  },
});

/** `ticker`: five tool steps and an answer, `latencyMs` per model call; `echo`: one call, no latency. */
function benchApp(latencyMs: number | [number, number]): CadreApp {
  return withBuiltins(
    defineApp({
      agents: {
        ticker: {
          agent: { name: 'ticker', instructions: 'Tick five times, then answer.', tools: [tick] },
          model: new ScriptedChatModel({
            latencyMs,
            respond: ({ messages }) => {
              const done = messages.filter((m) => m.getType() === 'tool').length;
              return done < 5 ? { content: '', toolCalls: [{ name: 'tick', args: { n: done } }] } : 'ticked';
            },
          }),
        },
        echo: {
          agent: { name: 'echo', instructions: 'Answer in one line.' },
          model: new ScriptedChatModel({ respond: () => 'echo' }),
        },
      },
    }),
  );
}

/**
 * Child mode: serves the bench registry and prints its URL and key; a `go` line on stdin opens the
 * gate; when stdin closes it prints its peak RSS.
 */
async function serveChild(dataDir: string, latencyMs: number | [number, number]): Promise<void> {
  const api = createHttpApi({
    app: benchApp(latencyMs),
    config: { dataDir, databasePath: join(dataDir, 'cadre.db'), logLevel: 'silent' },
    server: { port: 0, rateLimitPerMinute: 1_000_000 },
  });
  const serving = await serveHttpApi(api);
  const key = api.keys.create({ name: 'bench' }).key;
  process.stdout.write(`${JSON.stringify({ url: serving.url, key })}\n`);
  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => line === 'go' && releaseGate());
  await new Promise((resolve) => input.once('close', resolve));
  process.stdout.write(`${JSON.stringify({ peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
  await serving.close();
  process.exit(0);
}

interface FanOut {
  peakRssMb: number;
  p50Ms: number;
  p99Ms: number;
  lost: number;
  delivered: number;
  liveSamples: number;
  reconnects: number;
  wallMs: number;
}

/** One fan-out round: a fresh server process, `runs` runs, `clients` followers spread over them. */
async function fanOut(clients: number, runs: number, latency: string): Promise<FanOut> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cadre-bench-serve-'));
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', script, '--child', dataDir, '--latency', latency], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, CADRE_DATABASE_PATH: '' },
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const { url, key } = JSON.parse((await lines.next()).value as string) as { url: string; key: string };
  const client = createClient({ baseURL: url, apiKey: key });
  const started = performance.now();
  const ids = await Promise.all(
    Array.from({ length: runs }, (_, i) => client.runs.create({ agent: 'ticker', goal: `run ${i}` })),
  );
  const latencies: number[] = [];
  let reconnects = 0;
  let following = 0;
  let allFollow!: () => void;
  const everyoneFollows = new Promise<void>((resolve) => (allFollow = resolve));
  void everyoneFollows.then(() => child.stdin.write('go\n'));
  const received = await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const runId = ids[i % runs]!.id;
      const stream = client.runs.events(runId);
      const seqs: number[] = [];
      let connectedAt = Infinity;
      for await (const event of stream) {
        const now = Date.now();
        if (seqs.length === 0 && (connectedAt = now) && ++following === clients) allFollow();
        seqs.push(event.seq);
        if (event.ts > connectedAt) latencies.push(now - event.ts);
      }
      reconnects += stream.reconnects;
      return { runId, seqs };
    }),
  );
  const wallMs = performance.now() - started;
  child.stdin.end();
  const { peakRssMb } = JSON.parse((await lines.next()).value as string) as { peakRssMb: number };
  await new Promise((resolve) => child.once('exit', resolve));
  const store = openCadreStore({ path: join(dataDir, 'cadre.db') });
  let lost = 0;
  let delivered = 0;
  for (const { runId, seqs } of received) {
    const got = new Set(seqs);
    delivered += seqs.length;
    lost += store.events.read(runId).filter((e) => !got.has(e.seq)).length;
  }
  latencies.sort((a, b) => a - b);
  return {
    peakRssMb,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    lost,
    delivered,
    liveSamples: latencies.length,
    reconnects,
    wallMs,
  };
}

/** p50 ms of a one-call run over HTTP (`POST /runs`, stream to the end) and in-process, interleaved. */
async function overhead(iterations: number): Promise<{ http: number; inProcess: number; added: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cadre-bench-serve-'));
  const config = { dataDir, databasePath: join(dataDir, 'cadre.db'), logLevel: 'silent' as const };
  const app = benchApp(0);
  const api = createHttpApi({ app, config, server: { port: 0, rateLimitPerMinute: 1_000_000 } });
  const serving = await serveHttpApi(api);
  const key = api.keys.create({ name: 'bench' }).key;
  const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
  const body = JSON.stringify({ agent: 'echo', goal: 'say echo', stream: true });
  const viaHttp = async () => {
    const t0 = performance.now();
    const response = await fetch(`${serving.url}/runs`, { method: 'POST', headers, body });
    const text = await response.text();
    if (!text.includes('"status":"completed"')) throw new Error(`run did not complete: ${text.slice(-300)}`);
    return performance.now() - t0;
  };
  const inProcess = async () => {
    const t0 = performance.now();
    const handle = await runNamed({ app, agent: 'echo', goal: 'say echo', config });
    if ((await handle.result).status !== 'completed') throw new Error('run did not complete');
    return performance.now() - t0;
  };
  for (let i = 0; i < 20; i++) {
    await viaHttp();
    await inProcess();
  }
  const http: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < iterations; i++) {
    http.push(await viaHttp());
    direct.push(await inProcess());
  }
  await serving.close();
  const p50 = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      0.5,
    );
  return { http: p50(http), inProcess: p50(direct), added: p50(http) - p50(direct) };
}

const spread = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s.at(-1)! };
};
const show = (v: { min: number; median: number; max: number }, digits = 2) =>
  `${fmt(v.min, digits)} / ${fmt(v.median, digits)} / ${fmt(v.max, digits)}`;

async function parent(
  clients: number,
  runs: number,
  iterations: number,
  repeats: number,
  latency: string,
): Promise<void> {
  const fan: FanOut[] = [];
  const over: Array<Awaited<ReturnType<typeof overhead>>> = [];
  for (let r = 0; r < repeats; r++) {
    fan.push(await fanOut(clients, runs, latency));
    over.push(await overhead(iterations));
  }
  const of = <T>(xs: T[], pick: (x: T) => number) => spread(xs.map(pick));
  const rows = {
    peakRssMb: of(fan, (f) => f.peakRssMb),
    latencyP50Ms: of(fan, (f) => f.p50Ms),
    latencyP99Ms: of(fan, (f) => f.p99Ms),
    lostEvents: of(fan, (f) => f.lost),
    deliveredEvents: of(fan, (f) => f.delivered),
    liveSamples: of(fan, (f) => f.liveSamples),
    reconnects: of(fan, (f) => f.reconnects),
    wallMs: of(fan, (f) => f.wallMs),
    httpRunP50Ms: of(over, (o) => o.http),
    inProcessRunP50Ms: of(over, (o) => o.inProcess),
    httpAddedP50Ms: of(over, (o) => o.added),
  };
  console.log(
    `serve: ${clients} SSE clients on ${runs} runs (5 tool steps, ${latency} ms per model call), ${iterations} one-call runs each way, ${repeats} repeats, Node ${process.version}`,
  );
  console.log('min / median / max over the repeats\n');
  printTable(
    ['measure', 'value', 'goal'],
    [
      ['server peak RSS MB', show(rows.peakRssMb, 0), '<= 600'],
      ['delivery latency p50 ms (emit -> client)', show(rows.latencyP50Ms, 0), ''],
      ['delivery latency p99 ms (emit -> client)', show(rows.latencyP99Ms, 0), '<= 50'],
      ['events lost', show(rows.lostEvents, 0), '0'],
      ['events delivered', show(rows.deliveredEvents, 0), ''],
      ['live latency samples', show(rows.liveSamples, 0), ''],
      ['client reconnects', show(rows.reconnects, 0), ''],
      ['fan-out wall ms', show(rows.wallMs, 0), ''],
      ['POST /runs + completion p50 ms', show(rows.httpRunP50Ms, 3), ''],
      ['runNamed() in-process p50 ms', show(rows.inProcessRunP50Ms, 3), ''],
      ['HTTP added p50 ms', show(rows.httpAddedP50Ms, 3), '<= 1.5'],
    ],
  );
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const report = {
    bench: 'serve',
    node: process.version,
    clients,
    runs,
    modelLatencyMs: latency,
    iterations,
    repeats,
    rows,
    at: new Date().toISOString(),
  };
  writeFileSync(`${dir}serve.json`, `${JSON.stringify(report, null, 2)}\n`);
}

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
/** `50` (every run steps in lockstep) or `25-75` (each call drawn from the range). */
const latency = flag('--latency') ?? '25-75';
const [low, high] = latency.split('-').map(Number) as [number, number | undefined];
if (flag('--child')) await serveChild(flag('--child')!, high === undefined ? low : [low, high]);
else
  await parent(
    Number(flag('--clients') ?? 1000),
    Number(flag('--runs') ?? 100),
    Number(flag('--iterations') ?? 200),
    Number(flag('--repeats') ?? 3),
    latency,
  );
