import type Database from 'better-sqlite3';
import { CadreError } from '../../src/core/index.js';
import { checkScope, type Scope } from '../scope.js';
import type { VectorHit, VectorItem, VectorQuery, VectorStore } from '../vector-store.js';
import { checkEmbeddedVectorStoreOptions, type EmbeddedVectorStoreOptions } from './embedded-vector-store-options.js';
import { HnswIndex, type IndexRepair } from './hnsw-index.js';
import { KeyScopes } from './key-scopes.js';
import { compileFilter, invalid, isPlainObject, prepareItem, scopeOf, unitVector } from './vector-input.js';
import { claimVectorDatabase, openVectorDatabase } from './vector-database.js';
import { exactSearch, exactSearchRows, indexSearch } from './vector-search.js';
import { VectorRows } from './vector-rows.js';

export type { EmbeddedVectorStoreOptions } from './embedded-vector-store-options.js';
export type { IndexRepair } from './hnsw-index.js';

const maxK = 10_000;

/**
 * A VectorStore on one machine: SQLite holds every item and is the truth; a usearch HNSW index,
 * rebuilt from SQLite whenever it is missing, corrupt or behind, answers similarity queries. Open
 * it with `openEmbeddedVectorStore`, from one process at a time.
 */
export class EmbeddedVectorStore implements VectorStore {
  private readonly rows: VectorRows;
  private readonly index: HnswIndex;
  private readonly scopes = new KeyScopes();
  private readonly exactLimit: number;
  private closed = false;
  /** Why the HNSW index was rebuilt on open (`none` when the saved one was loaded). */
  readonly repair: IndexRepair;

  /** Use `openEmbeddedVectorStore`. */
  constructor(
    db: Database.Database,
    dir: string,
    readonly dimensions: number,
    indexConfig: { connectivity: number; expansionSearch: number },
  ) {
    this.rows = new VectorRows(db);
    this.exactLimit = exactSearchRows(dimensions);
    for (const r of this.rows.scopes()) this.scopes.set(r.key, scopeOf(r));
    this.index = new HnswIndex(this.rows, dir, dimensions, indexConfig);
    this.repair = this.index.repair;
  }

  /** Items in the HNSW index and rows in SQLite; equal unless something is wrong. */
  stats(): { indexed: number; rows: number } {
    this.assertOpen();
    return { indexed: this.index.size(), rows: this.rows.count() };
  }

  async upsert(items: readonly VectorItem[]): Promise<void> {
    this.assertOpen();
    if (!Array.isArray(items)) throw invalid('upsert takes an array of items');
    // Validate everything before writing anything; a later item with the same id wins.
    const prepared = new Map(items.map((item, i) => prepareItem(item, i, this.dimensions)).map((p) => [p.id, p]));
    if (prepared.size === 0) return;
    const { keys, replaced } = this.rows.upsert(prepared.values(), Date.now());
    [...prepared.values()].forEach((p, i) => this.scopes.set(keys[i]!, p.scope));
    this.index.write((index) => {
      if (replaced.length > 0) index.remove(BigUint64Array.from(replaced, BigInt));
      const flat = new Float32Array(keys.length * this.dimensions);
      [...prepared.values()].forEach((p, i) => flat.set(p.vector, i * this.dimensions));
      index.add(BigUint64Array.from(keys, BigInt), flat, 0);
    });
  }

  async query(vector: readonly number[], options: VectorQuery): Promise<VectorHit[]> {
    this.assertOpen();
    if (!isPlainObject(options)) throw invalid('query options must be an object with a scope');
    const scope = checkScope(options.scope);
    const k = options.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > maxK) throw invalid(`k must be an integer from 1 to ${maxK}`, { k });
    const request = {
      vector: unitVector(vector, this.dimensions, 'Query'),
      scope,
      k,
      matches: compileFilter(options.filter),
    };
    return this.rows.countVisible(scope, this.exactLimit) <= this.exactLimit
      ? exactSearch(this.rows, request)
      : indexSearch({ index: this.index, scopes: this.scopes, rows: this.rows }, request);
  }

  async delete(ids: readonly string[], scope: Scope): Promise<number> {
    this.assertOpen();
    const s = checkScope(scope);
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))
      throw invalid('delete takes an array of ids');
    const keys = this.rows.delete(ids, s);
    for (const key of keys) this.scopes.delete(key);
    if (keys.length > 0) this.index.write((index) => index.remove(BigUint64Array.from(keys, BigInt)));
    return keys.length;
  }

  async count(scope?: Scope): Promise<number> {
    this.assertOpen();
    if (scope === undefined) return this.rows.count();
    return this.rows.countVisible(checkScope(scope));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.index.close();
    this.closed = true;
    this.rows.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new CadreError('store_failed', 'The vector store is closed');
  }
}

/**
 * Opens (creating if needed) an embedded vector store in a directory. A store made with other
 * `dimensions` or another `embedder` is `config_invalid`: its vectors would not be comparable.
 */
export async function openEmbeddedVectorStore(options: EmbeddedVectorStoreOptions): Promise<EmbeddedVectorStore> {
  const { dimensions, connectivity, expansionSearch } = checkEmbeddedVectorStoreOptions(options);
  const db = openVectorDatabase(options.path);
  try {
    claimVectorDatabase(db, { path: options.path, dimensions, embedder: options.embedder });
    return new EmbeddedVectorStore(db, options.path, dimensions, { connectivity, expansionSearch });
  } catch (error) {
    db.close();
    throw CadreError.from(error, 'store_failed');
  }
}
