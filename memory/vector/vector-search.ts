import { isVisible, type Scope } from '../scope.js';
import type { JsonValue, VectorHit } from '../vector-store.js';
import { float32FromBlob } from '../vectors.js';
import type { HnswIndex } from './hnsw-index.js';
import type { KeyScopes } from './key-scopes.js';
import type { Predicate } from './vector-input.js';
import { rowHit, type VectorRows } from './vector-rows.js';

/** One checked query: a unit vector, the asking scope, how many hits, and the payload filter if any. */
export interface SearchRequest {
  vector: Float32Array;
  scope: Scope;
  k: number;
  matches: Predicate | undefined;
}

/**
 * Scopes with at most this many visible rows are searched exactly from SQLite: exact recall, and no
 * HNSW widening through other tenants' items. Reading a row's vector costs ~2.5 µs, so the limit
 * shrinks with the dimension to keep such a query near 1-2 ms (651 rows at 384 dims, 2000 at ≤125).
 */
export const exactSearchRows = (dimensions: number) => Math.max(100, Math.min(2000, Math.floor(250_000 / dimensions)));

/** The k best hits by scoring every row the scope can see. */
export function exactSearch(rows: VectorRows, { vector: q, scope, k, matches }: SearchRequest): VectorHit[] {
  const visible = rows.visibleVectors(scope, matches !== undefined);
  const scored: { key: number; score: number }[] = [];
  for (const row of visible) {
    if (matches && !matches(JSON.parse(row.payload!) as Record<string, JsonValue>)) continue;
    const v = float32FromBlob(row.vector);
    let dot = 0;
    for (let i = 0; i < v.length; i++) dot += v[i]! * q[i]!;
    scored.push({ key: row.key, score: dot });
  }
  scored.sort((a, b) => b.score - a.score);
  return scored.slice(0, k).map(({ key, score }) => rowHit(rows.byKey(key)!, score));
}

/** The k best hits from the HNSW index, screening its candidates by scope and filter. */
export function indexSearch(
  source: { index: HnswIndex; scopes: KeyScopes; rows: VectorRows },
  { vector: q, scope, k, matches }: SearchRequest,
): VectorHit[] {
  const { index, scopes, rows } = source;
  const size = index.size();
  const visible = new Map<Scope, boolean>();
  // Keys already judged in a narrower round: a wider search mostly returns the same keys again.
  const judged = new Map<bigint, VectorHit | null>();
  // Oversample, then widen ×4 while scopes and filters leave fewer than k hits.
  for (let want = Math.min(Math.max(k * 4, 40), size); want > 0; want = Math.min(want * 4, size)) {
    const found = index.search(q, want);
    const hits: VectorHit[] = [];
    for (let i = 0; i < found.keys.length && hits.length < k; i++) {
      const key = found.keys[i]!;
      let hit = judged.get(key);
      if (hit === undefined) {
        const owner = scopes.get(Number(key));
        if (owner && !visible.has(owner)) visible.set(owner, isVisible(owner, scope));
        const row = owner && visible.get(owner) ? rows.byKey(key) : undefined;
        hit = row ? rowHit(row, 1 - found.distances[i]!) : null;
        if (hit && matches && !matches(hit.payload)) hit = null;
        judged.set(key, hit);
      }
      if (hit) hits.push(hit);
    }
    if (hits.length >= k || want >= size) return hits;
  }
  return [];
}
