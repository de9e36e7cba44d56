/**
 * ttft: time to first token of a routed model's `.stream()` (policy router: lane queue, timeout,
 * breaker, fallback bookkeeping), and of a streaming `POST /v1/chat/completions` to `cadre serve`'s
 * API (a run of a registered agent on that model: auth, the run admitted durably, the agent loop,
 * `model.delta`, the first `chat.completion.chunk` with text), against the same ScriptedChatModel's
 * own `.stream()`, with 0 ms and 20 ms per chunk. The floor: a bare node:http server that streams the
 * same model's chunks as `chat.completion.chunk`s and does nothing else, read the same way. All ways
 * run in one process (the servers on 127.0.0.1, read with fetch), interleaved call by call, each
 * stream read to its end. The whole set is repeated (default three times); the table shows min / median / max of the
 * p50s. Prints a table and writes bench/results/ttft.json.
 *
 *   npm run bench:ttft [-- --iterations 60 --repeats 3]
 */
import { HumanMessage } from '@langchain/core/messages';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineApp } from 'cadre';
import { createPolicyRouter, poolModel } from 'cadre/models';
import { ScriptedChatModel } from 'cadre/testing';
import { createHttpApi, serveHttpApi } from '../src/server/http/index.js';
import { numberFlag, percentile, printTable, showSpread, spread, type Spread } from './bench-kit.js';

const messages = [new HumanMessage('What is the answer?')];
const reply = 'The answer is 42.';

/** Milliseconds from calling `.stream()` to the first chunk with text; the rest of the stream is read too. */
async function timeToFirstToken(model: BaseChatModel): Promise<number> {
  const start = performance.now();
  let first = NaN;
  for await (const chunk of await model.stream(messages))
    if (Number.isNaN(first) && chunk.text) first = performance.now();
  return first - start;
}

/** Milliseconds from sending a streaming chat completion to the first chunk with text; the rest is read too. */
async function timeToFirstChunk(url: string, key = ''): Promise<number> {
  const start = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      model: 'answerer',
      stream: true,
      messages: [{ role: 'user', content: 'What is the answer?' }],
    }),
  });
  let first = NaN;
  const decoder = new TextDecoder();
  for await (const bytes of response.body!) {
    if (Number.isNaN(first) && /"content":"[^"]/.test(decoder.decode(bytes, { stream: true })))
      first = performance.now();
  }
  if (Number.isNaN(first)) throw new Error(`no text came back (status ${response.status})`);
  return first - start;
}

function setup(chunkDelayMs: number) {
  const chat = new ScriptedChatModel({ respond: () => reply, chunkSize: 4, chunkDelayMs });
  const router = createPolicyRouter({ models: [{ model: poolModel({ provider: 'ollama', model: 'bench' }), chat }] });
  return { chat, router };
}

/** `cadre serve`'s API on a fresh database, with one agent answering on the same kind of model. */
async function serve(chunkDelayMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-bench-ttft-'));
  const model = new ScriptedChatModel({ respond: () => reply, chunkSize: 4, chunkDelayMs });
  const app = defineApp({ agents: { answerer: { agent: { name: 'answerer', instructions: 'Answer.' }, model } } });
  const api = createHttpApi({
    app,
    config: { dataDir: dir, databasePath: join(dir, 'cadre.db'), logLevel: 'silent', ollamaHost: 'http://127.0.0.1:2' },
    server: { port: 0, rateLimitPerMinute: 1_000_000, workers: 0 },
  });
  const serving = await serveHttpApi(api);
  return { serving, key: (await api.keys.create({ name: 'bench' })).key };
}

/**
 * The floor: node:http, the body read and parsed, the model's own `.stream()`, each chunk written as
 * an SSE `chat.completion.chunk` at once. What any server streaming this model over HTTP pays.
 */
async function bareServer(chunkDelayMs: number) {
  const model = new ScriptedChatModel({ respond: () => reply, chunkSize: 4, chunkDelayMs });
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (bytes: Buffer) => (body += bytes.toString()));
    request.on('end', async () => {
      const { messages: sent } = JSON.parse(body) as { messages: Array<{ content: string }> };
      response.writeHead(200, { 'Content-Type': 'text/event-stream' });
      for await (const chunk of await model.stream([new HumanMessage(sent.at(-1)!.content)]))
        response.write(
          `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: chunk.text } }] })}\n\n`,
        );
      response.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

type Ttft = { direct: number; routed: number; http: number; bare: number };

/** p50 TTFT of each way over `iterations` interleaved calls. */
async function measure(chunkDelayMs: number, iterations: number): Promise<Ttft> {
  const { chat, router } = setup(chunkDelayMs);
  const routed = (await router.select({})).model;
  const { serving, key } = await serve(chunkDelayMs);
  const bare = await bareServer(chunkDelayMs);
  const direct: number[] = [];
  const viaRouter: number[] = [];
  const viaHttp: number[] = [];
  const viaBare: number[] = [];
  try {
    for (let i = 0; i < iterations; i++) {
      direct.push(await timeToFirstToken(chat));
      viaRouter.push(await timeToFirstToken(routed));
      viaHttp.push(await timeToFirstChunk(serving.url, key));
      viaBare.push(await timeToFirstChunk(bare.url));
    }
  } finally {
    await serving.close();
    bare.close();
  }
  const p50 = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      0.5,
    );
  return { direct: p50(direct), routed: p50(viaRouter), http: p50(viaHttp), bare: p50(viaBare) };
}

const show = (v: Spread, digits = 3) => showSpread(v, digits);

async function main(iterations: number, repeats: number): Promise<void> {
  const delays = [0, 20];
  // Warm-up: JIT, lazy imports, the router's first decision.
  await measure(0, 300);
  const rounds: Array<Map<number, Ttft>> = [];
  for (let r = 0; r < repeats; r++) {
    const round = new Map<number, Ttft>();
    for (const delay of delays) round.set(delay, await measure(delay, delay === 0 ? iterations * 20 : iterations));
    rounds.push(round);
  }
  const rows = delays.map((chunkDelayMs) => ({
    chunkDelayMs,
    iterations: chunkDelayMs === 0 ? iterations * 20 : iterations,
    directMs: spread(rounds.map((r) => r.get(chunkDelayMs)!.direct)),
    routedMs: spread(rounds.map((r) => r.get(chunkDelayMs)!.routed)),
    addedMs: spread(rounds.map((r) => r.get(chunkDelayMs)!.routed - r.get(chunkDelayMs)!.direct)),
    httpMs: spread(rounds.map((r) => r.get(chunkDelayMs)!.http)),
    httpAddedMs: spread(rounds.map((r) => r.get(chunkDelayMs)!.http - r.get(chunkDelayMs)!.direct)),
    bareAddedMs: spread(rounds.map((r) => r.get(chunkDelayMs)!.bare - r.get(chunkDelayMs)!.direct)),
    overBareMs: spread(rounds.map((r) => r.get(chunkDelayMs)!.http - r.get(chunkDelayMs)!.bare)),
  }));
  console.log(
    `ttft: ScriptedChatModel, "${reply}" in chunks of 4 characters, ${repeats} repeats, Node ${process.version}`,
  );
  console.log('time to first token, ms: min / median / max over the repeats of each p50\n');
  printTable(
    [
      'ms per chunk',
      'calls',
      'model.stream()',
      'routed .stream()',
      'added by routing',
      'POST /v1 stream',
      'added by /v1',
      'added by bare node:http',
      '/v1 over bare',
    ],
    rows.map((r) => [
      r.chunkDelayMs,
      r.iterations,
      show(r.directMs),
      show(r.routedMs),
      show(r.addedMs),
      show(r.httpMs),
      show(r.httpAddedMs),
      show(r.bareAddedMs),
      show(r.overBareMs),
    ]),
  );
  console.log('\ntarget: <= 2 ms added at p50 (routing; and /v1/chat/completions, streaming)');
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const report = { bench: 'ttft', node: process.version, repeats, rows, at: new Date().toISOString() };
  writeFileSync(`${dir}ttft.json`, `${JSON.stringify(report, null, 2)}\n`);
}

await main(numberFlag('--iterations', 60), numberFlag('--repeats', 3));
