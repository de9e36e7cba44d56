import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { describeVectorStoreConformance } from 'cadre/testing';
import type { Scope } from '../../memory/scope.js';
import type { VectorItem } from '../../memory/vector-store.js';
import { openEmbeddedVectorStore, type EmbeddedVectorStore } from '../../memory/vector/embedded-vector-store.js';
import { mayRead } from '../fixtures/scope-rule.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-vectors-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describeVectorStoreConformance(
  'EmbeddedVectorStore',
  (dimensions) => openEmbeddedVectorStore({ path: tempDir(), dimensions }),
  { describe, it },
);

/** mulberry32: a small seeded PRNG, so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const randomVector = (next: () => number, dims = 8) => Array.from({ length: dims }, () => next() * 2 - 1);
// More than the store's exact-search limit (2000), so tenant-wide queries go through the HNSW index.
const bulk = (n: number, seed = 1): VectorItem[] => {
  const next = prng(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `bg${i}`,
    vector: randomVector(next),
    scope: { tenant: 't1' },
    payload: { i },
  }));
};

describe('EmbeddedVectorStore', () => {
  it('returns only items visible in the query scope, whichever search path answers', async () => {
    const store = await openEmbeddedVectorStore({ path: tempDir(), dimensions: 8 });
    await store.upsert(bulk(2200));
    const part = (values: (string | undefined)[]) => fc.constantFrom(...values);
    const scope = fc
      .record({ tenant: part(['t1', 't2']), user: part([undefined, 'u1', 'u2']), agent: part([undefined, 'g1']) })
      .map((s): Scope => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as Scope);
    const vector = fc
      .array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 8, maxLength: 8 })
      .filter((v) => v.some((x) => Math.abs(x) > 1e-3));
    let run = 0;
    const seen = { hidden: 0, own: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ scope, vector }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.record({ scope, vector, k: fc.integer({ min: 1, max: 30 }) }), { minLength: 1, maxLength: 5 }),
        async (items, queries) => {
          const ids = items.map((_, i) => `r${run}_${i}`);
          run += 1;
          const stored = new Map(items.map((it, i) => [ids[i]!, it.scope]));
          await store.upsert(items.map((it, i) => ({ id: ids[i]!, vector: it.vector, scope: it.scope })));
          try {
            for (const q of queries) {
              const hits = await store.query(q.vector, { scope: q.scope, k: q.k });
              // Counted by the documented rule, not by the store: the bulk lives in { tenant: 't1' }.
              const visible =
                items.filter((it) => mayRead(q.scope, it.scope)).length +
                (mayRead(q.scope, { tenant: 't1' }) ? 2200 : 0);
              expect(await store.count(q.scope)).toBe(visible);
              expect(hits.length).toBe(Math.min(q.k, visible));
              for (const hit of hits) {
                expect(
                  mayRead(q.scope, hit.scope),
                  `${JSON.stringify(hit.scope)} seen from ${JSON.stringify(q.scope)}`,
                ).toBe(true);
                if (stored.has(hit.id)) expect(hit.scope).toEqual(stored.get(hit.id));
                else expect(hit.scope).toEqual({ tenant: 't1' });
              }
              seen.hidden += items.filter((it) => !mayRead(q.scope, it.scope)).length;
              seen.own += hits.filter((hit) => stored.has(hit.id)).length;
            }
          } finally {
            await store.delete(ids, { tenant: 't1', user: 'u1', agent: 'g1' });
            await store.delete(ids, { tenant: 't1', user: 'u2', agent: 'g1' });
            await store.delete(ids, { tenant: 't2', user: 'u1', agent: 'g1' });
            await store.delete(ids, { tenant: 't2', user: 'u2', agent: 'g1' });
          }
        },
      ),
      { numRuns: 30, seed: 42 },
    );
    // Queries must meet items they may not see, and find some of this round's items, or this proves little.
    expect(seen.hidden).toBeGreaterThan(300);
    expect(seen.own).toBeGreaterThan(40);
    // The deletes above cover every scope the generator makes, so only the bulk is left.
    expect(await store.count()).toBe(2200);
    await store.close();
  }, 60_000);

  describe('repairs its HNSW index from SQLite on open', () => {
    const query = (store: EmbeddedVectorStore) =>
      store.query(randomVector(prng(7)), { scope: { tenant: 't1' }, k: 10 });
    const build = async () => {
      const dir = tempDir();
      const store = await openEmbeddedVectorStore({ path: dir, dimensions: 8 });
      await store.upsert(bulk(2500));
      await store.delete(['bg0', 'bg1'], { tenant: 't1' });
      const before = (await query(store)).map((h) => h.id);
      await store.close();
      return { dir, before };
    };
    const reopen = async (dir: string, repair: string, before: string[]) => {
      const store = await openEmbeddedVectorStore({ path: dir, dimensions: 8 });
      try {
        expect(store.repair).toBe(repair);
        expect(store.stats()).toEqual({ indexed: 2498, rows: 2498 });
        expect(await store.count()).toBe(2498);
        const after = (await query(store)).map((h) => h.id);
        // A loaded index answers exactly as before; a rebuilt HNSW graph is approximate and may
        // swap near-ties, so its nearest must be among the first three before, and 8 of the 10 agree.
        if (repair === 'none') expect(after).toEqual(before);
        else {
          expect(before.slice(0, 3)).toContain(after[0]);
          expect(after.filter((id) => before.includes(id)).length).toBeGreaterThanOrEqual(8);
        }
        return after;
      } finally {
        await store.close();
      }
    };

    it('loads the saved index when nothing changed', async () => {
      const { dir, before } = await build();
      await reopen(dir, 'none', before);
    });

    it('rebuilds a deleted index file', async () => {
      const { dir, before } = await build();
      rmSync(join(dir, 'vectors.usearch'));
      const rebuilt = await reopen(dir, 'missing', before);
      await reopen(dir, 'none', rebuilt);
    });

    it('rebuilds an index file overwritten with garbage, without loading it', async () => {
      const { dir, before } = await build();
      writeFileSync(join(dir, 'vectors.usearch'), randomBytes(statSync(join(dir, 'vectors.usearch')).size));
      await reopen(dir, 'corrupt', before);
    });

    it('rebuilds an index saved before later writes', async () => {
      const { dir, before } = await build();
      const sidecar = join(dir, 'vectors.usearch.json');
      const old = readFileSync(sidecar, 'utf8');
      const store = await openEmbeddedVectorStore({ path: dir, dimensions: 8 });
      await store.upsert([{ id: 'late', vector: randomVector(prng(9)), scope: { tenant: 't2' } }]);
      await store.delete(['late'], { tenant: 't2' });
      await store.close();
      writeFileSync(sidecar, old);
      await reopen(dir, 'stale', before);
    });
  });

  it('refuses to reopen a store with other dimensions or another embedder', async () => {
    const dir = tempDir();
    await (await openEmbeddedVectorStore({ path: dir, dimensions: 8, embedder: 'hash-8' })).close();
    await expect(openEmbeddedVectorStore({ path: dir, dimensions: 16 })).rejects.toMatchObject({
      code: 'config_invalid',
    });
    await expect(openEmbeddedVectorStore({ path: dir, dimensions: 8, embedder: 'other' })).rejects.toMatchObject({
      code: 'config_invalid',
    });
    const again = await openEmbeddedVectorStore({ path: dir, dimensions: 8, embedder: 'hash-8' });
    expect(await again.count()).toBe(0);
    await again.close();
  });

  it("refuses an upsert that would take over another scope's id", async () => {
    const store = await openEmbeddedVectorStore({ path: tempDir(), dimensions: 8 });
    await store.upsert([{ id: 'x', vector: randomVector(prng(1)), scope: { tenant: 'a' }, payload: { owner: 'a' } }]);
    await expect(
      store.upsert([{ id: 'x', vector: randomVector(prng(2)), scope: { tenant: 'b' } }]),
    ).rejects.toMatchObject({ code: 'input_invalid' });
    expect((await store.query(randomVector(prng(1)), { scope: { tenant: 'a' } }))[0]?.payload).toEqual({ owner: 'a' });
    await store.close();
  });
});
