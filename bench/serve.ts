/**
 * serve: cadre's HTTP API under load, on scripted models, each part repeated (default three times;
 * the table shows min / median / max of the repeats):
 *   fan-out    N SSE clients (default 1,000) following 100 runs served by one `serveHttpApi` process
 *              (a child, so its peak RSS and CPU time are its own); the clients are spread over
 *              `--readers` processes (default 4, see serve-readers.ts), as a server's clients are
 *              separate browsers, and each reads with `cadre/client` from seq 1. The runs wait at
 *              their first tool call until every client follows one, then run on together: peak RSS
 *              and CPU time of the server, delivery latency from an event's emit (`ts`, a Date.now()
 *              ms clock shared by every process) to the client for events emitted after the client
 *              connected, events lost against the stored log (must be 0), event-loop delay of the
 *              server and of the busiest reader process, CPU time of the readers
 *   overhead   the same one-call run through `POST /runs` (`stream: true`, read to its final frame;
 *              with `deltas: false`, like the in-process run nobody listens to for tokens, and with
 *              the token deltas a stream sends by default) against `runNamed()` in-process,
 *              interleaved, same registry and database file; and,
 *              in the same loop, the floor of this machine: the same fetch and SSE read against a
 *              bare node:http server and a bare Hono app on @hono/node-server that do no cadre work
 * Prints a table and writes bench/results/serve.json.
 *
 *   npm run bench:serve [-- --clients 1000 --runs 100 --readers 4 --latency 25-75 --iterations 200 --repeats 3]
 * `--cpu-prof <dir>` has the server and reader processes write CPU profiles (`node --cpu-prof`) there.
 * `--latency 50` makes every model call take exactly 50 ms: all runs then step in lockstep (worst case).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { z } from 'zod';
import { defineApp, openCadreStore, runNamed, withBuiltins, type CadreApp } from 'cadre';
import { createClient } from 'cadre/client';
import { ScriptedChatModel } from 'cadre/testing';
import { defineTool } from 'cadre/tools';
import { createHttpApi, serveHttpApi } from '../src/server/http/index.js';
import { fmt, percentile, printTable, showSpread, spread, textFlag, type Spread } from './bench-kit.js';
import type { ReaderReport, ReaderTask } from './serve-readers.js';

/** Opened by the parent once every client follows its run, so the events after it are all seen live. */
let releaseGate!: () => void;
const gate = new Promise<void>((resolve) => (releaseGate = resolve));

const tick = defineTool({
  name: 'tick',
  description: 'Counts one step; the first waits for the gate.',
  input: z.object({ n: z.number() }),
  effects: 'read',
  run: async ({ n }) => {
    if (n === 0) {
      await gate;
      // Each run goes on in a turn of the event loop of its own, as after a tool's I/O; resumed
      // together in the gate's one microtask drain, 100 runs would hold every write until the last.
      await new Promise(setImmediate);
    }
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
 * gate; when stdin closes it prints its peak RSS, the CPU time it used since the gate opened and its
 * event-loop delay over that time.
 */
async function serveChild(dataDir: string, latencyMs: number | [number, number]): Promise<void> {
  const api = createHttpApi({
    app: benchApp(latencyMs),
    config: { dataDir, databasePath: join(dataDir, 'cadre.db'), logLevel: 'silent' },
    server: { port: 0, rateLimitPerMinute: 1_000_000 },
  });
  const serving = await serveHttpApi(api);
  const key = (await api.keys.create({ name: 'bench' })).key;
  process.stdout.write(`${JSON.stringify({ url: serving.url, key })}\n`);
  const delay = monitorEventLoopDelay({ resolution: 5 });
  let cpuAtGo = process.cpuUsage();
  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => {
    if (line !== 'go') return;
    cpuAtGo = process.cpuUsage();
    delay.enable();
    releaseGate();
  });
  await new Promise((resolve) => input.once('close', resolve));
  const cpu = process.cpuUsage(cpuAtGo);
  process.stdout.write(
    `${JSON.stringify({
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      cpuMs: (cpu.user + cpu.system) / 1000,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
    })}\n`,
  );
  await serving.close();
  process.exit(0);
}

interface FanOut {
  peakRssMb: number;
  serverCpuMs: number;
  serverLoopDelayP99Ms: number;
  readerLoopDelayP99Ms: number;
  readerCpuMs: number;
  p50Ms: number;
  p99Ms: number;
  lost: number;
  delivered: number;
  liveSamples: number;
  reconnects: number;
  wallMs: number;
}

/** A bench script in a child process of its own, its stdout read line by line. */
function child(script: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const profile = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const path = fileURLToPath(new URL(script, import.meta.url));
  const proc = spawn(process.execPath, [...profile, '--import', 'tsx', path, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env,
  });
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  return { proc, exited, next: async <T>() => JSON.parse((await lines.next()).value as string) as T };
}

/**
 * One fan-out round: a fresh server process, `runs` runs, `clients` followers spread over them and
 * over `readers` reader processes.
 */
async function fanOut(clients: number, runs: number, readers: number, latency: string): Promise<FanOut> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cadre-bench-serve-'));
  const server = child('./serve.ts', ['--child', dataDir, '--latency', latency], {
    ...process.env,
    CADRE_DATABASE_PATH: '',
  });
  const readerProcs = Array.from({ length: Math.min(readers, clients) }, () => child('./serve-readers.ts', []));
  const { url, key } = await server.next<{ url: string; key: string }>();
  const client = createClient({ baseURL: url, apiKey: key });
  const started = performance.now();
  const ids = await Promise.all(
    Array.from({ length: runs }, (_, i) => client.runs.create({ agent: 'ticker', goal: `run ${i}` })),
  );
  // Client i follows run i % runs, and is read by process i % readers.
  const follows = Array.from({ length: clients }, (_, i) => ids[i % runs]!.id);
  readerProcs.forEach((reader, r) => {
    const task: ReaderTask = { url, key, follows: follows.filter((_, i) => i % readerProcs.length === r) };
    reader.proc.stdin.write(`${JSON.stringify(task)}\n`);
  });
  await Promise.all(readerProcs.map((reader) => reader.next<{ following: true }>()));
  server.proc.stdin.write('go\n');
  const reports = await Promise.all(readerProcs.map((reader) => reader.next<ReaderReport>()));
  const wallMs = performance.now() - started;
  server.proc.stdin.end();
  const usage = await server.next<{ peakRssMb: number; cpuMs: number; loopDelayP99Ms: number }>();
  await Promise.all([server.exited, ...readerProcs.map((reader) => reader.exited)]);
  const store = openCadreStore({ path: join(dataDir, 'cadre.db') });
  let lost = 0;
  let delivered = 0;
  for (const { runId, seqs } of reports.flatMap((report) => report.received)) {
    const got = new Set(seqs);
    delivered += seqs.length;
    lost += store.events.read(runId).filter((e) => !got.has(e.seq)).length;
  }
  const latencies = reports.flatMap((report) => report.latencies).sort((a, b) => a - b);
  return {
    peakRssMb: usage.peakRssMb,
    serverCpuMs: usage.cpuMs,
    serverLoopDelayP99Ms: usage.loopDelayP99Ms,
    readerLoopDelayP99Ms: Math.max(...reports.map((report) => report.loopDelayP99Ms)),
    readerCpuMs: reports.reduce((sum, report) => sum + report.cpuMs, 0),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    lost,
    delivered,
    liveSamples: latencies.length,
    reconnects: reports.reduce((n, report) => n + report.reconnects, 0),
    wallMs,
  };
}

interface Overhead {
  /** With the live token deltas, the default of a streamed `POST /runs`. */
  http: number;
  /** With `deltas: false`: like `runNamed()` in-process, which nobody listens to for tokens. */
  httpPlain: number;
  inProcess: number;
  /** `httpPlain` over in-process: the like-for-like overhead. */
  added: number;
  addedWithDeltas: number;
  bareNode: number;
  bareHono: number;
}

/** A listening server on 127.0.0.1 and its URL. */
async function listen(server: Server): Promise<{ url: string; close: () => void }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/**
 * The floor of `POST /runs` on this machine: servers that read the JSON body and answer with
 * `text` (the frames cadre sent for the same run) as an event stream, doing no cadre work.
 */
async function floorServers(text: () => string) {
  const bareNode = await listen(
    createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        JSON.parse(body);
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
        res.write(text());
        res.end();
      });
    }),
  );
  const hono = new Hono();
  hono.post('/runs', async (c) => {
    await c.req.json();
    return c.body(text(), 200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  });
  const bareHono = await listen(createAdaptorServer({ fetch: hono.fetch, overrideGlobalObjects: false }) as Server);
  return { bareNode, bareHono };
}

/**
 * p50 ms of a one-call run over HTTP (`POST /runs`, stream to the end) and in-process, and of the
 * same request against the two floor servers, interleaved.
 */
async function overhead(iterations: number): Promise<Overhead> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cadre-bench-serve-'));
  const config = { dataDir, databasePath: join(dataDir, 'cadre.db'), logLevel: 'silent' as const };
  const app = benchApp(0);
  const api = createHttpApi({ app, config, server: { port: 0, rateLimitPerMinute: 1_000_000 } });
  const serving = await serveHttpApi(api);
  const key = (await api.keys.create({ name: 'bench' })).key;
  const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
  const withDeltas = JSON.stringify({ agent: 'echo', goal: 'say echo', stream: true });
  const plain = JSON.stringify({ agent: 'echo', goal: 'say echo', stream: true, deltas: false });
  let frames = '';
  const floor = await floorServers(() => frames);
  const post = async (url: string, body = withDeltas) => {
    const t0 = performance.now();
    const response = await fetch(`${url}/runs`, { method: 'POST', headers, body });
    const text = await response.text();
    if (!text.includes('"status":"completed"')) throw new Error(`run did not complete: ${text.slice(-300)}`);
    frames = text;
    return performance.now() - t0;
  };
  const inProcess = async () => {
    const t0 = performance.now();
    const handle = await runNamed({ app, agent: 'echo', goal: 'say echo', config });
    if ((await handle.result).status !== 'completed') throw new Error('run did not complete');
    return performance.now() - t0;
  };
  const times = {
    http: [] as number[],
    httpPlain: [] as number[],
    inProcess: [] as number[],
    bareNode: [] as number[],
    bareHono: [] as number[],
  };
  // Each call starts on a quiet event loop: what a run leaves to do after its result (its last
  // commit, a job worker's look at the queue) is not charged to the call after it.
  const settled = async <T>(call: () => Promise<T>) => {
    for (let turn = 0; turn < 3; turn++) await new Promise(setImmediate);
    return call();
  };
  const round = async (record: boolean) => {
    const httpPlain = await settled(() => post(serving.url, plain));
    const http = await settled(() => post(serving.url));
    const direct = await settled(inProcess);
    const node = await settled(() => post(floor.bareNode.url));
    const hono = await settled(() => post(floor.bareHono.url));
    if (!record) return;
    times.http.push(http);
    times.httpPlain.push(httpPlain);
    times.inProcess.push(direct);
    times.bareNode.push(node);
    times.bareHono.push(hono);
  };
  for (let i = 0; i < 20; i++) await round(false);
  for (let i = 0; i < iterations; i++) await round(true);
  await serving.close();
  floor.bareNode.close();
  floor.bareHono.close();
  const p50 = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      0.5,
    );
  return {
    http: p50(times.http),
    httpPlain: p50(times.httpPlain),
    inProcess: p50(times.inProcess),
    added: p50(times.httpPlain) - p50(times.inProcess),
    addedWithDeltas: p50(times.http) - p50(times.inProcess),
    bareNode: p50(times.bareNode),
    bareHono: p50(times.bareHono),
  };
}

const show = (v: Spread, digits = 2) => showSpread(v, digits);

async function parent(options: {
  clients: number;
  runs: number;
  readers: number;
  iterations: number;
  repeats: number;
  latency: string;
}): Promise<void> {
  const { clients, runs, readers, iterations, repeats, latency } = options;
  const fan: FanOut[] = [];
  const over: Overhead[] = [];
  const load: number[] = [];
  for (let r = 0; r < repeats; r++) {
    load.push(loadavg()[0]!);
    fan.push(await fanOut(clients, runs, readers, latency));
    over.push(await overhead(iterations));
  }
  const of = <T>(xs: T[], pick: (x: T) => number) => spread(xs.map(pick));
  const rows = {
    peakRssMb: of(fan, (f) => f.peakRssMb),
    serverCpuMs: of(fan, (f) => f.serverCpuMs),
    serverLoopDelayP99Ms: of(fan, (f) => f.serverLoopDelayP99Ms),
    readerLoopDelayP99Ms: of(fan, (f) => f.readerLoopDelayP99Ms),
    readerCpuMs: of(fan, (f) => f.readerCpuMs),
    latencyP50Ms: of(fan, (f) => f.p50Ms),
    latencyP99Ms: of(fan, (f) => f.p99Ms),
    lostEvents: of(fan, (f) => f.lost),
    deliveredEvents: of(fan, (f) => f.delivered),
    liveSamples: of(fan, (f) => f.liveSamples),
    reconnects: of(fan, (f) => f.reconnects),
    wallMs: of(fan, (f) => f.wallMs),
    httpRunP50Ms: of(over, (o) => o.http),
    httpPlainRunP50Ms: of(over, (o) => o.httpPlain),
    inProcessRunP50Ms: of(over, (o) => o.inProcess),
    httpAddedP50Ms: of(over, (o) => o.added),
    httpAddedWithDeltasP50Ms: of(over, (o) => o.addedWithDeltas),
    bareNodeP50Ms: of(over, (o) => o.bareNode),
    bareHonoP50Ms: of(over, (o) => o.bareHono),
    addedOverFloorP50Ms: of(over, (o) => o.added - o.bareNode),
    addedToFloorRatio: of(over, (o) => o.added / o.bareNode),
    loadAverage: spread(load),
  };
  console.log(
    `serve: ${clients} SSE clients in ${Math.min(readers, clients)} reader processes on ${runs} runs (5 tool steps, ${latency} ms per model call), ${iterations} one-call runs each way, ${repeats} repeats, Node ${process.version}, ${cpus().length} cores`,
  );
  console.log(
    `min / median / max over the repeats; load average (1 min) at the start of each: ${load.map((l) => fmt(l, 1)).join(', ')}\n`,
  );
  printTable(
    ['measure', 'value', 'goal'],
    [
      ['server peak RSS MB', show(rows.peakRssMb, 0), '<= 600'],
      ['server CPU ms, gate open -> last frame', show(rows.serverCpuMs, 0), ''],
      ['server event-loop delay p99 ms', show(rows.serverLoopDelayP99Ms, 0), ''],
      ['readers CPU ms (all processes), gate open -> end', show(rows.readerCpuMs, 0), ''],
      ['busiest reader event-loop delay p99 ms', show(rows.readerLoopDelayP99Ms, 0), ''],
      ['delivery latency p50 ms (emit -> client)', show(rows.latencyP50Ms, 0), ''],
      ['delivery latency p99 ms (emit -> client)', show(rows.latencyP99Ms, 0), '<= 50'],
      ['events lost', show(rows.lostEvents, 0), '0'],
      ['events delivered', show(rows.deliveredEvents, 0), ''],
      ['live latency samples', show(rows.liveSamples, 0), ''],
      ['client reconnects', show(rows.reconnects, 0), ''],
      ['fan-out wall ms', show(rows.wallMs, 0), ''],
      ['POST /runs + completion, deltas: false p50 ms', show(rows.httpPlainRunP50Ms, 3), ''],
      ['POST /runs + completion, with token deltas p50 ms', show(rows.httpRunP50Ms, 3), ''],
      ['runNamed() in-process p50 ms', show(rows.inProcessRunP50Ms, 3), ''],
      ['HTTP added p50 ms (deltas: false, like in-process)', show(rows.httpAddedP50Ms, 3), '<= 1.5'],
      ['HTTP added with token deltas p50 ms', show(rows.httpAddedWithDeltasP50Ms, 3), ''],
      ['floor: same request, bare node:http p50 ms', show(rows.bareNodeP50Ms, 3), ''],
      ['floor: same request, bare Hono app p50 ms', show(rows.bareHonoP50Ms, 3), ''],
      ['HTTP added minus the node:http floor ms', show(rows.addedOverFloorP50Ms, 3), ''],
      ['HTTP added / node:http floor', show(rows.addedToFloorRatio, 2), ''],
    ],
  );
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const report = {
    bench: 'serve',
    node: process.version,
    clients,
    runs,
    readers: Math.min(readers, clients),
    modelLatencyMs: latency,
    iterations,
    repeats,
    rows,
    at: new Date().toISOString(),
  };
  writeFileSync(`${dir}serve.json`, `${JSON.stringify(report, null, 2)}\n`);
}

/** `--cpu-prof <dir>`: the server and reader processes write CPU profiles there. */
const cpuProfileDir = textFlag('--cpu-prof');
/** `50` (every run steps in lockstep) or `25-75` (each call drawn from the range). */
const latency = textFlag('--latency') ?? '25-75';
const [low, high] = latency.split('-').map(Number) as [number, number | undefined];
if (textFlag('--child')) await serveChild(textFlag('--child')!, high === undefined ? low : [low, high]);
else
  await parent({
    clients: Number(textFlag('--clients') ?? 1000),
    runs: Number(textFlag('--runs') ?? 100),
    readers: Number(textFlag('--readers') ?? 4),
    iterations: Number(textFlag('--iterations') ?? 200),
    repeats: Number(textFlag('--repeats') ?? 3),
    latency,
  });
