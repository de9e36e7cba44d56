/**
 * EmbeddedVectorStore on synthetic embeddings: insert throughput, index size on disk, recall@10
 * against exact brute force, and query latency, at 10k and 100k vectors of 384 dimensions.
 *   npm run bench:vector                      both sizes
 *   BENCH_VECTOR_SIZES=10000 npm run bench:vector
 */
import { mkdtempSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openEmbeddedVectorStore } from '../memory/vector/embedded-vector-store.js';
import { mulberry32 } from './bench-kit.js';

const dims = 384;
const clusters = 100;
const queryCount = 200;
const k = 10;
const batchSize = 1000;
const sizes = (process.env.BENCH_VECTOR_SIZES ?? '10000,100000').split(',').map(Number);
/** expansionSearch values tried after the build; the store's default (128) is the headline row. */
const sweep = [64, 128, 256];
const scope = { tenant: 'bench' };

/** Box-Muller over a seeded uniform source. */
function gaussian(next: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/**
 * `n` points around 100 cluster centres (centres ~ N(0,1) per dimension, points = centre + N(0, 0.6)),
 * like sentence embeddings that fall into topics. Same seed, same data.
 */
function clustered(n: number, seed: number, centres: Float32Array): Float32Array {
  const normal = gaussian(mulberry32(seed));
  const out = new Float32Array(n * dims);
  for (let i = 0; i < n; i++) {
    const c = Math.floor((i * 7919 + seed) % clusters);
    for (let d = 0; d < dims; d++) out[i * dims + d] = centres[c * dims + d]! + 0.6 * normal();
  }
  return out;
}

function normalised(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i += dims) {
    let norm = 0;
    for (let d = 0; d < dims; d++) norm += data[i + d]! ** 2;
    const s = 1 / Math.sqrt(norm);
    for (let d = 0; d < dims; d++) out[i + d] = data[i + d]! * s;
  }
  return out;
}

/** Exact top-k by cosine over unit vectors: the reference the store's answers are scored against. */
function bruteForce(data: Float32Array, q: Float32Array): number[] {
  const best: { i: number; s: number }[] = [];
  for (let i = 0, n = data.length / dims; i < n; i++) {
    let s = 0;
    const o = i * dims;
    for (let d = 0; d < dims; d++) s += data[o + d]! * q[d]!;
    if (best.length < k || s > best[best.length - 1]!.s) {
      best.push({ i, s });
      best.sort((a, b) => b.s - a.s);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b.i);
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))]!;
const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const fileMb = (path: string) => {
  try {
    return statSync(path).size / 2 ** 20;
  } catch {
    return 0;
  }
};

async function measure(n: number, centres: Float32Array) {
  const data = clustered(n, 1, centres);
  const unit = normalised(data);
  const queries = normalised(clustered(queryCount, 2, centres));
  const query = (j: number) => queries.subarray(j * dims, (j + 1) * dims);
  const dir = mkdtempSync(join(tmpdir(), 'cadre-bench-vector-'));
  try {
    let store = await openEmbeddedVectorStore({ path: dir, dimensions: dims, embedder: 'synthetic-384' });
    const started = performance.now();
    for (let i = 0; i < n; i += batchSize) {
      const items = [];
      for (let j = i; j < Math.min(n, i + batchSize); j++)
        items.push({
          id: `v${j}`,
          vector: Array.from(data.subarray(j * dims, (j + 1) * dims)),
          scope,
          payload: { cluster: j % clusters },
        });
      await store.upsert(items);
    }
    const insertSeconds = (performance.now() - started) / 1000;
    await store.close();
    const closeSeconds = (performance.now() - started) / 1000 - insertSeconds;

    const brute: number[] = [];
    const truth = Array.from({ length: queryCount }, (_, j) => {
      const t0 = performance.now();
      const ids = bruteForce(unit, query(j));
      brute.push(performance.now() - t0);
      return new Set(ids.map((i) => `v${i}`));
    });

    const runs = [];
    for (const expansionSearch of sweep) {
      const t0 = performance.now();
      store = await openEmbeddedVectorStore({
        path: dir,
        dimensions: dims,
        embedder: 'synthetic-384',
        expansionSearch,
      });
      const openSeconds = (performance.now() - t0) / 1000;
      for (let j = 0; j < 20; j++) await store.query(Array.from(query(j)), { scope, k }); // warm-up
      const times: number[] = [];
      let found = 0;
      for (let j = 0; j < queryCount; j++) {
        const q = Array.from(query(j));
        const t1 = performance.now();
        const hits = await store.query(q, { scope, k });
        times.push(performance.now() - t1);
        found += hits.filter((h) => truth[j]!.has(h.id)).length;
      }
      await store.close();
      runs.push({
        expansionSearch,
        recallAt10: round(found / (queryCount * k)),
        p50Ms: round(percentile(times, 0.5)),
        p95Ms: round(percentile(times, 0.95)),
        openSeconds: round(openSeconds, 2),
      });
    }

    rmSync(join(dir, 'vectors.usearch'));
    const t2 = performance.now();
    store = await openEmbeddedVectorStore({ path: dir, dimensions: dims });
    const rebuildSeconds = (performance.now() - t2) / 1000;
    await store.close();

    return {
      vectors: n,
      insertPerSecond: Math.round(n / insertSeconds),
      insertSeconds: round(insertSeconds, 1),
      closeSeconds: round(closeSeconds, 2),
      indexMb: round(fileMb(join(dir, 'vectors.usearch')), 1),
      sqliteMb: round(fileMb(join(dir, 'vectors.db')) + fileMb(join(dir, 'vectors.db-wal')), 1),
      rebuildSeconds: round(rebuildSeconds, 1),
      bruteP50Ms: round(percentile(brute, 0.5)),
      bruteP95Ms: round(percentile(brute, 0.95)),
      runs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const normal = gaussian(mulberry32(99));
  const centres = Float32Array.from({ length: clusters * dims }, normal);
  const results = [];
  for (const n of sizes) {
    console.log(`building ${n} vectors...`);
    results.push(await measure(n, centres));
  }
  console.log(
    '\n| vectors | insert vec/s | index MB | sqlite MB | rebuild s | expansion | recall@10 | store p50 ms | store p95 ms | brute p50 ms | brute p95 ms |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    for (const run of r.runs) {
      console.log(
        `| ${r.vectors} | ${r.insertPerSecond} | ${r.indexMb} | ${r.sqliteMb} | ${r.rebuildSeconds} | ${run.expansionSearch} | ${run.recallAt10} | ${run.p50Ms} | ${run.p95Ms} | ${r.bruteP50Ms} | ${r.bruteP95Ms} |`,
      );
    }
  }
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const machine = { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model };
  writeFileSync(
    new URL('./results/vector.json', import.meta.url),
    `${JSON.stringify({ machine, dims, clusters, queryCount, k, batchSize, results }, null, 2)}\n`,
  );
}

await main();
