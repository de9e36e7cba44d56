/**
 * ttft: time to first token of a routed model's `.stream()` (policy router: lane queue, timeout,
 * breaker, fallback bookkeeping) against the same ScriptedChatModel's own `.stream()`, with 0 ms and
 * 20 ms per chunk. Both ways run in one process, interleaved call by call, each stream read to its
 * end. The whole set is repeated (default three times); the table shows min / median / max of the
 * p50s. Prints a table and writes bench/results/ttft.json.
 *
 *   npm run bench:ttft [-- --iterations 60 --repeats 3]
 */
import { HumanMessage } from '@langchain/core/messages';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createPolicyRouter, poolModel } from 'cadre/models';
import { ScriptedChatModel } from 'cadre/testing';
import { fmt, percentile, printTable } from './bench-kit.js';

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

function setup(chunkDelayMs: number) {
  const chat = new ScriptedChatModel({ respond: () => reply, chunkSize: 4, chunkDelayMs });
  const router = createPolicyRouter({ models: [{ model: poolModel({ provider: 'ollama', model: 'bench' }), chat }] });
  return { chat, router };
}

/** p50 TTFT of each way over `iterations` interleaved calls. */
async function measure(chunkDelayMs: number, iterations: number): Promise<{ direct: number; routed: number }> {
  const { chat, router } = setup(chunkDelayMs);
  const routed = (await router.select({})).model;
  const direct: number[] = [];
  const viaRouter: number[] = [];
  for (let i = 0; i < iterations; i++) {
    direct.push(await timeToFirstToken(chat));
    viaRouter.push(await timeToFirstToken(routed));
  }
  const p50 = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      0.5,
    );
  return { direct: p50(direct), routed: p50(viaRouter) };
}

const spread = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s.at(-1)! };
};
const show = (v: { min: number; median: number; max: number }, digits = 3) =>
  `${fmt(v.min, digits)} / ${fmt(v.median, digits)} / ${fmt(v.max, digits)}`;

async function main(iterations: number, repeats: number): Promise<void> {
  const delays = [0, 20];
  // Warm-up: JIT, lazy imports, the router's first decision.
  await measure(0, 300);
  const rounds: Array<Map<number, { direct: number; routed: number }>> = [];
  for (let r = 0; r < repeats; r++) {
    const round = new Map<number, { direct: number; routed: number }>();
    for (const delay of delays) round.set(delay, await measure(delay, delay === 0 ? iterations * 20 : iterations));
    rounds.push(round);
  }
  const rows = delays.map((chunkDelayMs) => ({
    chunkDelayMs,
    iterations: chunkDelayMs === 0 ? iterations * 20 : iterations,
    directMs: spread(rounds.map((r) => r.get(chunkDelayMs)!.direct)),
    routedMs: spread(rounds.map((r) => r.get(chunkDelayMs)!.routed)),
    addedMs: spread(rounds.map((r) => r.get(chunkDelayMs)!.routed - r.get(chunkDelayMs)!.direct)),
  }));
  console.log(
    `ttft: ScriptedChatModel, "${reply}" in chunks of 4 characters, ${repeats} repeats, Node ${process.version}`,
  );
  console.log('time to first token, ms: min / median / max over the repeats of each p50\n');
  printTable(
    ['ms per chunk', 'calls', 'model.stream()', 'routed .stream()', 'added by routing'],
    rows.map((r) => [r.chunkDelayMs, r.iterations, show(r.directMs), show(r.routedMs), show(r.addedMs)]),
  );
  console.log('\ntarget: <= 2 ms added at p50');
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const report = { bench: 'ttft', node: process.version, repeats, rows, at: new Date().toISOString() };
  writeFileSync(`${dir}ttft.json`, `${JSON.stringify(report, null, 2)}\n`);
}

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
await main(Number(flag('--iterations') ?? 60), Number(flag('--repeats') ?? 3));
