/**
 * memory-recall: end-to-end `Memory.recall()` across all tiers with the offline HashingEmbedder,
 * at 100,000 stored items (vector notes, episodes, graph facts, plan templates) in one tenant.
 * Reports build time per tier, then p50/p95 of 200 recalls: the whole call and each tier alone.
 * Prints a table and writes bench/results/memory-recall.json.
 *
 *   npm run bench:memory [-- --items 100000 --queries 200]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemory, type MemoryTier } from 'cadre/memory';
import { numberFlag, percentile } from './bench-kit.js';

const items = numberFlag('--items', 100_000);
const queries = numberFlag('--queries', 200);

// A seeded generator: the same corpus and queries every run.
let seed = 42;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
const topics = [
  'billing',
  'staging',
  'deploy',
  'invoice',
  'database',
  'latency',
  'refund',
  'onboarding',
  'kubernetes',
  'backup',
  'search',
  'pricing',
  'cache',
  'login',
  'export',
  'report',
];
const verbs = [
  'fails',
  'slows down',
  'needs review',
  'was migrated',
  'is configured',
  'was rolled back',
  'moved',
  'doubled',
  'is blocked',
  'was fixed',
];
const places = [
  'in region eu-west',
  'on the old cluster',
  'after the release',
  'for enterprise customers',
  'during the night',
  'in the mobile app',
  'since Tuesday',
];
const sentence = () =>
  `The ${pick(topics)} ${pick(topics)} service ${pick(verbs)} ${pick(places)} (ticket ${Math.floor(random() * 1e6)}).`;
const people = Array.from({ length: 2000 }, (_, i) => `Person${i}`);
const cities = Array.from({ length: 200 }, (_, i) => `City${i}`);

const stats = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) };
};

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-bench-memory-'));
  const memory = await createMemory({ dir, scope: { tenant: 'bench' }, env: {} });
  const split = {
    vector: Math.round(items * 0.7),
    episodic: Math.round(items * 0.2),
    graph: Math.round(items * 0.09),
    procedural: Math.round(items * 0.01),
  };
  const build: Record<string, number> = {};
  try {
    let t = performance.now();
    const embedder = memory.stores.embedder;
    for (let i = 0; i < split.vector; i += 1000) {
      const texts = Array.from({ length: Math.min(1000, split.vector - i) }, sentence);
      const vectors = await embedder.embed(texts);
      await memory.stores.vector.upsert(
        texts.map((text, j) => ({
          id: `n${i + j}`,
          vector: vectors[j]!,
          text,
          scope: memory.scope,
          payload: { kind: 'note', at: Date.now() },
        })),
      );
    }
    build.vector = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < split.episodic; i++) {
      await memory.episodes.add({
        id: `e${i}`,
        runId: `run_${i % 500}`,
        taskId: `t${i}`,
        task: sentence(),
        outcome: random() < 0.3 ? 'failure' : 'success',
        ...(random() < 0.3 ? { lesson: `Check the ${pick(topics)} settings first.` } : {}),
        importance: random(),
        createdAt: Date.now() - Math.floor(random() * 3e10),
        scope: memory.scope,
      });
    }
    build.episodic = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < split.graph; i += 500) {
      const batch = Array.from({ length: Math.min(500, split.graph - i) }, (_, j) => ({
        subject: { name: pick(people), type: 'person' },
        predicate: pick(['works_on', 'lives_in', 'owns']),
        object: { name: random() < 0.5 ? pick(cities) : pick(topics), type: 'thing' },
        validFrom: Date.UTC(2020, 0, 1) + (i + j) * 1000,
      }));
      await memory.graph.upsertRelations(batch, memory.scope);
    }
    build.graph = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < split.procedural; i++) {
      await memory.procedures.save({
        goal: `Fix the ${pick(topics)} ${pick(topics)} problem ${pick(places)} #${i}`,
        graph: { goal: 'g', tasks: [] },
        scope: memory.scope,
      });
    }
    build.procedural = performance.now() - t;

    const questions = Array.from({ length: queries }, (_, i) =>
      i % 4 === 3 ? `What does ${pick(people)} work on?` : `Why does the ${pick(topics)} service ${pick(verbs)}?`,
    );
    for (const q of questions.slice(0, 20)) await memory.recall(q); // warm-up
    const measure = async (tiers?: MemoryTier[]) => {
      const samples: number[] = [];
      for (const q of questions) {
        const start = performance.now();
        await memory.recall(q, { tokenBudget: 800, ...(tiers ? { tiers } : {}) });
        samples.push(performance.now() - start);
      }
      return stats(samples);
    };
    const rows = [
      { tiers: 'all four', ...(await measure()) },
      { tiers: 'vector', ...(await measure(['vector'])) },
      { tiers: 'episodic', ...(await measure(['episodic'])) },
      { tiers: 'graph', ...(await measure(['graph'])) },
      { tiers: 'procedural', ...(await measure(['procedural'])) },
    ];
    const counts = await memory.stats(memory.scope);
    console.log(
      `memory-recall: ${items} items (${split.vector} notes, ${split.episodic} episodes, ${split.graph} facts, ${split.procedural} plans), hashing-384 embedder, Node ${process.version}\n`,
    );
    console.log('tier          build s');
    for (const [tier, ms] of Object.entries(build))
      console.log(`${tier.padEnd(12)} ${(ms / 1000).toFixed(1).padStart(8)}`);
    console.log(`\nrecall (${queries} queries, token budget 800)   p50 ms   p95 ms`);
    for (const r of rows)
      console.log(`${r.tiers.padEnd(38)} ${r.p50.toFixed(2).padStart(7)}  ${r.p95.toFixed(2).padStart(7)}`);
    const all = rows[0]!;
    console.log(`\ntarget: p95 <= 50 ms for all tiers: ${all.p95 <= 50 ? 'met' : 'MISSED'} (${all.p95.toFixed(1)} ms)`);
    const out = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(out, { recursive: true });
    writeFileSync(
      `${out}memory-recall.json`,
      `${JSON.stringify({ bench: 'memory-recall', node: process.version, items, split, counts, buildMs: build, recall: rows, at: new Date().toISOString() }, null, 2)}\n`,
    );
  } finally {
    await memory.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
