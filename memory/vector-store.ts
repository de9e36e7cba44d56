import type { Scope } from './scope.js';

/** A JSON value that is not an array or object: what filters compare and facts hold. */
export type JsonPrimitive = string | number | boolean | null;
/** Any JSON value. */
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };

/** One stored vector with its payload. `id` is unique within the store (scopes do not share ids). */
export interface VectorItem {
  id: string;
  vector: number[];
  scope: Scope;
  /** Up to 64 KiB of JSON: filterable top-level fields and anything else the caller keeps. */
  payload?: Record<string, JsonValue>;
  /** The text the vector was made from, kept for context blocks. */
  text?: string;
}

/**
 * A condition on one top-level payload field: a value (equality), `{ in: [...] }` (set membership),
 * or a numeric range with any of `gt`, `gte`, `lt`, `lte`.
 */
export type FilterCondition =
  JsonPrimitive | { in: JsonPrimitive[] } | { gt?: number; gte?: number; lt?: number; lte?: number };

/** All conditions must hold. */
export type VectorFilter = Record<string, FilterCondition>;

/** Where a similarity query looks and how many hits it returns. */
export interface VectorQuery {
  /** Who asks; only items visible in this scope come back (see `isVisible`). */
  scope: Scope;
  /** Default 10. */
  k?: number;
  /** Conditions on payload fields that every hit meets. */
  filter?: VectorFilter;
}

/** One item a query found, with its similarity to the query vector. */
export interface VectorHit {
  id: string;
  /** Cosine similarity, higher is closer (1 = same direction). */
  score: number;
  scope: Scope;
  payload: Record<string, JsonValue>;
  text?: string;
}

/**
 * Vectors with payloads, queried by similarity inside a scope. Implementations: embedded (usearch
 * HNSW + SQLite) and Qdrant. Bad input (wrong dimension, NaN, bad scope, oversized payload) is an
 * `input_invalid` CadreError and leaves the store unchanged.
 */
export interface VectorStore {
  readonly dimensions: number;
  /** Inserts or replaces items, all or nothing. */
  upsert(items: readonly VectorItem[]): Promise<void>;
  /** The `k` visible items most similar to `vector` that pass the filter, most similar first. */
  query(vector: readonly number[], options: VectorQuery): Promise<VectorHit[]>;
  /** Deletes the ids visible in `scope`; returns how many were deleted. */
  delete(ids: readonly string[], scope: Scope): Promise<number>;
  /** Items visible in `scope`, or all items when no scope is given. */
  count(scope?: Scope): Promise<number>;
  /** Saves what is pending and releases the store's files or connection. */
  close(): Promise<void>;
}
