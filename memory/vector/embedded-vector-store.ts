import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Index, MetricKind, ScalarKind } from 'usearch';
import { CadreError } from '../../src/core/index.js';
import { checkScope, isVisible, scopeLevels, type Scope } from '../scope.js';
import type { JsonValue, VectorHit, VectorItem, VectorQuery, VectorStore } from '../vector-store.js';
import { compileFilter, invalid, isPlainObject, prepareItem, rowColumns, sameScope, scopeOf, unitVector, type Predicate } from './vector-input.js';
import { float32FromBlob } from '../vectors.js';

/*
 * Defaults chosen with `npm run bench:vector` (384 dims, 100 Gaussian clusters, see bench/README.md):
 * connectivity 16 and expansion_add 128 build the graph; searching with expansion 128 (and at least
 * 40 candidates, see indexSearch) gave recall@10 0.997 at 100k vectors for ~0.1 ms more per query
 * than expansion 64 (0.965), which is too close to the 0.95 target to be the default.
 */
const defaultConnectivity = 16;
const defaultExpansionAdd = 128;
const defaultExpansionSearch = 128;
/**
 * Scopes with at most this many visible rows are searched exactly from SQLite: exact recall, and no
 * HNSW widening through other tenants' items. Reading a row's vector costs ~2.5 µs, so the limit
 * shrinks with the dimension to keep such a query near 1-2 ms (651 rows at 384 dims, 2000 at ≤125).
 */
const exactSearchRows = (dimensions: number) => Math.max(100, Math.min(2000, Math.floor(250_000 / dimensions)));
/** Save the index this long after the last write, and at least this often while writes continue. */
const saveDelayMs = 1000;
const saveMaxWaitMs = 30_000;
const maxK = 10_000;

export interface EmbeddedVectorStoreOptions {
  /** A directory; holds `vectors.db` (the truth) and `vectors.usearch` (a derived HNSW index). */
  path: string;
  dimensions: number;
  /** The embedding model's name: stored on first open, and a different one later is refused. */
  embedder?: string;
  /** HNSW edges per node (default 16): more is better recall, more memory and slower inserts. */
  connectivity?: number;
  /** HNSW candidate list size when searching (default 128): more is better recall, slower queries. */
  expansionSearch?: number;
}

/** Why the index was rebuilt from SQLite when the store was opened, or `none`. */
export type IndexRepair = 'none' | 'missing' | 'corrupt' | 'stale';

interface Row {
  key: number; id: string; tenant: string; user: string | null; agent: string | null; run: string | null;
  payload: string; text: string | null;
}
interface Sidecar { generation: number; count: number; dimensions: number; sha256: string }

function sha256File(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}


/**
 * A VectorStore on one machine: SQLite holds every item and is the truth; a usearch HNSW index,
 * rebuilt from SQLite whenever it is missing, corrupt or behind, answers similarity queries. Open
 * it with `openEmbeddedVectorStore`, from one process at a time.
 */
export class EmbeddedVectorStore implements VectorStore {
  private index: Index;
  private generation: number;
  private savedGeneration: number;
  private saveTimer: NodeJS.Timeout | undefined;
  private firstUnsavedAt = 0;
  private closed = false;
  /** Why the HNSW index was rebuilt on open (`none` when the saved one was loaded). */
  readonly repair: IndexRepair;
  private readonly statements = new Map<string, Database.Statement>();
  /** Each key's scope, one shared object per distinct scope, so HNSW candidates are screened without SQLite. */
  private readonly scopes = new Map<number, Scope>();
  private readonly interned = new Map<string, Scope>();
  private readonly exactLimit: number;

  /** Use `openEmbeddedVectorStore`. */
  constructor(
    private readonly db: Database.Database,
    private readonly dir: string,
    readonly dimensions: number,
    private readonly indexConfig: { connectivity: number; expansionSearch: number },
  ) {
    this.generation = this.savedGeneration = Number(this.meta('index_generation') ?? 0);
    this.exactLimit = exactSearchRows(dimensions);
    for (const r of this.sql('SELECT key, tenant, "user", agent, run FROM items').iterate() as IterableIterator<Row>) this.scopes.set(r.key, this.intern(scopeOf(r)));
    this.index = this.newIndex();
    this.repair = this.loadIndex();
    if (this.repair !== 'none') this.saveIndex();
  }

  /** Items in the HNSW index and rows in SQLite; equal unless something is wrong. */
  stats(): { indexed: number; rows: number } {
    this.assertOpen();
    return { indexed: this.index.size(), rows: this.countRows() };
  }

  async upsert(items: readonly VectorItem[]): Promise<void> {
    this.assertOpen();
    if (!Array.isArray(items)) throw invalid('upsert takes an array of items');
    // Validate everything before writing anything; a later item with the same id wins.
    const prepared = new Map(items.map((item, i) => prepareItem(item, i, this.dimensions)).map((p) => [p.id, p]));
    if (prepared.size === 0) return;
    const now = Date.now();
    const update = this.sql('UPDATE items SET payload = ?, text = ?, vector = ?, updated_at = ? WHERE key = ?');
    const insert = this.sql('INSERT INTO items (id, tenant, "user", agent, run, payload, text, vector, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const replaced: number[] = [];
    const keys = this.db.transaction(() => {
      const out: number[] = [];
      for (const p of prepared.values()) {
        const blob = Buffer.from(p.vector.buffer, p.vector.byteOffset, p.vector.byteLength);
        const old = this.rowById(p.id);
        if (old) {
          // Replacing across scopes would let one tenant overwrite (or hide) another's item.
          if (!sameScope(scopeOf(old), p.scope)) throw invalid(`Item "${p.id}": the id is taken in another scope; delete it there first`, { id: p.id });
          update.run(p.payload, p.text, blob, now, old.key);
          replaced.push(old.key);
          out.push(old.key);
        } else {
          const s = p.scope;
          out.push(Number(insert.run(p.id, s.tenant, s.user ?? null, s.agent ?? null, s.run ?? null, p.payload, p.text, blob, now).lastInsertRowid));
        }
      }
      this.bumpGeneration();
      return out;
    })();
    [...prepared.values()].forEach((p, i) => this.scopes.set(keys[i]!, this.intern(p.scope)));
    this.indexWrite(() => {
      if (replaced.length > 0) this.index.remove(BigUint64Array.from(replaced, BigInt));
      const flat = new Float32Array(keys.length * this.dimensions);
      [...prepared.values()].forEach((p, i) => flat.set(p.vector, i * this.dimensions));
      this.index.add(BigUint64Array.from(keys, BigInt), flat, 0);
    });
  }

  async query(vector: readonly number[], options: VectorQuery): Promise<VectorHit[]> {
    this.assertOpen();
    if (!isPlainObject(options)) throw invalid('query options must be an object with a scope');
    const scope = checkScope(options.scope);
    const k = options.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > maxK) throw invalid(`k must be an integer from 1 to ${maxK}`, { k });
    const q = unitVector(vector, this.dimensions, 'Query');
    const matches = compileFilter(options.filter);
    const visible = this.visibleStatement(scope, 'count').get(this.scopeParams(scope)) as { n: number };
    return visible.n <= this.exactLimit ? this.exactSearch(q, scope, k, matches) : this.indexSearch(q, scope, k, matches);
  }

  async delete(ids: readonly string[], scope: Scope): Promise<number> {
    this.assertOpen();
    const s = checkScope(scope);
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw invalid('delete takes an array of ids');
    const remove = this.sql('DELETE FROM items WHERE key = ?');
    const keys = this.db.transaction(() => {
      const out: number[] = [];
      for (const id of new Set(ids)) {
        const row = this.rowById(id);
        if (row && isVisible(scopeOf(row), s)) {
          remove.run(row.key);
          out.push(row.key);
        }
      }
      if (out.length > 0) this.bumpGeneration();
      return out;
    })();
    for (const key of keys) this.scopes.delete(key);
    if (keys.length > 0) this.indexWrite(() => this.index.remove(BigUint64Array.from(keys, BigInt)));
    return keys.length;
  }

  async count(scope?: Scope): Promise<number> {
    this.assertOpen();
    if (scope === undefined) return this.countRows();
    const s = checkScope(scope);
    return (this.visibleStatement(s, 'countAll').get(this.scopeParams(s)) as { n: number }).n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.saveTimer);
    if (this.generation !== this.savedGeneration) this.saveIndex();
    this.closed = true;
    this.db.close();
  }

  private exactSearch(q: Float32Array, scope: Scope, k: number, matches: Predicate | undefined): VectorHit[] {
    // Only key, vector (and payload when filtering) per row: whole rows cost twice as much to read.
    const rows = this.visibleStatement(scope, matches ? 'filterRows' : 'rows').all(this.scopeParams(scope)) as { key: number; vector: Buffer; payload?: string }[];
    const scored: { key: number; score: number }[] = [];
    for (const row of rows) {
      if (matches && !matches(JSON.parse(row.payload!) as Record<string, JsonValue>)) continue;
      const v = float32FromBlob(row.vector);
      let dot = 0;
      for (let i = 0; i < v.length; i++) dot += v[i]! * q[i]!;
      scored.push({ key: row.key, score: dot });
    }
    scored.sort((a, b) => b.score - a.score);
    const byKey = this.sql(`SELECT ${rowColumns} FROM items WHERE key = ?`);
    return scored.slice(0, k).map(({ key, score }) => this.hit(byKey.get(key) as Row, score));
  }

  private indexSearch(q: Float32Array, scope: Scope, k: number, matches: Predicate | undefined): VectorHit[] {
    const size = this.index.size();
    const byKey = this.sql(`SELECT ${rowColumns} FROM items WHERE key = ?`);
    const visible = new Map<Scope, boolean>();
    // Keys already judged in a narrower round: a wider search mostly returns the same keys again.
    const judged = new Map<bigint, VectorHit | null>();
    // Oversample, then widen ×4 while scopes and filters leave fewer than k hits.
    for (let want = Math.min(Math.max(k * 4, 40), size); want > 0; want = Math.min(want * 4, size)) {
      const found = this.index.search(q, want, 1);
      const hits: VectorHit[] = [];
      for (let i = 0; i < found.keys.length && hits.length < k; i++) {
        const key = found.keys[i]!;
        let hit = judged.get(key);
        if (hit === undefined) {
          const owner = this.scopes.get(Number(key));
          if (owner && !visible.has(owner)) visible.set(owner, isVisible(owner, scope));
          const row = owner && visible.get(owner) ? (byKey.get(key) as Row | undefined) : undefined;
          hit = row ? this.hit(row, 1 - found.distances[i]!) : null;
          if (hit && matches && !matches(hit.payload)) hit = null;
          judged.set(key, hit);
        }
        if (hit) hits.push(hit);
      }
      if (hits.length >= k || want >= size) return hits;
    }
    return [];
  }

  private hit(row: Row, score: number): VectorHit {
    return { id: row.id, score, scope: scopeOf(row), payload: JSON.parse(row.payload) as Record<string, JsonValue>, ...(row.text !== null ? { text: row.text } : {}) };
  }

  /** SQL for the rows visible in a scope: one statement per shape of scope, cached. */
  private visibleStatement(scope: Scope, kind: 'count' | 'countAll' | 'rows' | 'filterRows'): Database.Statement {
    const where = ['tenant = @tenant', ...scopeLevels.map((l) => (scope[l] === undefined ? `"${l}" IS NULL` : `("${l}" IS NULL OR "${l}" = @${l})`))].join(' AND ');
    if (kind === 'rows' || kind === 'filterRows') return this.sql(`SELECT key, vector${kind === 'filterRows' ? ', payload' : ''} FROM items WHERE ${where}`);
    // `count` only needs to know whether the scope is small, so it stops counting past the limit.
    if (kind === 'count') return this.sql(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM items WHERE ${where} LIMIT ${this.exactLimit + 1})`);
    return this.sql(`SELECT COUNT(*) AS n FROM items WHERE ${where}`);
  }

  private intern(scope: Scope): Scope {
    const name = JSON.stringify([scope.tenant, ...scopeLevels.map((l) => scope[l] ?? null)]);
    let shared = this.interned.get(name);
    if (!shared) this.interned.set(name, (shared = scope));
    return shared;
  }

  /** A prepared statement, made once per SQL text. */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  private rowById(id: string): Row | undefined {
    return this.sql(`SELECT ${rowColumns} FROM items WHERE id = ?`).get(id) as Row | undefined;
  }

  private scopeParams(scope: Scope): Record<string, string> {
    return Object.fromEntries(Object.entries(scope).filter(([, v]) => v !== undefined)) as Record<string, string>;
  }

  private countRows(): number {
    return (this.sql('SELECT COUNT(*) AS n FROM items').get() as { n: number }).n;
  }

  private meta(name: string): string | undefined {
    return (this.sql('SELECT value FROM meta WHERE name = ?').get(name) as { value: string } | undefined)?.value;
  }

  private bumpGeneration(): void {
    this.generation += 1;
    this.sql("INSERT OR REPLACE INTO meta (name, value) VALUES ('index_generation', ?)").run(String(this.generation));
  }

  private newIndex(): Index {
    return new Index({
      dimensions: this.dimensions, metric: MetricKind.Cos, quantization: ScalarKind.F32, connectivity: this.indexConfig.connectivity,
      expansion_add: defaultExpansionAdd, expansion_search: this.indexConfig.expansionSearch, multi: false,
    });
  }

  private get indexPath(): string {
    return join(this.dir, 'vectors.usearch');
  }

  /** Loads the saved index if its sidecar vouches for it, else rebuilds; returns why it rebuilt. */
  private loadIndex(): IndexRepair {
    const rows = this.countRows();
    if (!existsSync(this.indexPath)) return this.rebuild('missing');
    let sidecar: Sidecar;
    try {
      sidecar = JSON.parse(readFileSync(`${this.indexPath}.json`, 'utf8')) as Sidecar;
    } catch {
      return this.rebuild('stale');
    }
    if (sidecar.generation !== this.generation || sidecar.count !== rows || sidecar.dimensions !== this.dimensions) return this.rebuild('stale');
    // usearch trusts the file it loads and can crash the process on a corrupt one, so check first.
    if (sha256File(this.indexPath) !== sidecar.sha256) return this.rebuild('corrupt');
    try {
      this.index.load(this.indexPath);
    } catch {
      return this.rebuild('corrupt');
    }
    if (this.index.size() !== rows || this.index.dimensions() !== this.dimensions) return this.rebuild('corrupt');
    return 'none';
  }

  private rebuild<R extends IndexRepair>(reason: R): R {
    this.index = this.newIndex();
    const batch = 10_000;
    const keys = new BigUint64Array(batch);
    const vectors = new Float32Array(batch * this.dimensions);
    let n = 0;
    const flush = () => {
      if (n > 0) this.index.add(keys.subarray(0, n), vectors.subarray(0, n * this.dimensions), 0);
      n = 0;
    };
    for (const row of this.db.prepare('SELECT key, vector FROM items').iterate() as IterableIterator<{ key: number; vector: Buffer }>) {
      keys[n] = BigInt(row.key);
      vectors.set(float32FromBlob(row.vector), n * this.dimensions);
      if (++n === batch) flush();
    }
    flush();
    this.savedGeneration = -1;
    return reason;
  }

  /** Applies a change to the index after SQLite committed it; on failure the index is rebuilt. */
  private indexWrite(change: () => void): void {
    try {
      change();
    } catch {
      this.rebuild('stale');
    }
    if (this.firstUnsavedAt === 0) this.firstUnsavedAt = Date.now();
    clearTimeout(this.saveTimer);
    const wait = Math.max(0, Math.min(saveDelayMs, this.firstUnsavedAt + saveMaxWaitMs - Date.now()));
    this.saveTimer = setTimeout(() => this.saveIndex(), wait).unref();
  }

  /** Writes the index and then its sidecar, each by rename, so a crash leaves a pair that disagrees, never a torn file. */
  private saveIndex(): void {
    if (this.closed) return;
    const tmp = `${this.indexPath}.tmp`;
    try {
      this.index.save(tmp);
      const sidecar: Sidecar = { generation: this.generation, count: this.index.size(), dimensions: this.dimensions, sha256: sha256File(tmp) };
      renameSync(tmp, this.indexPath);
      writeFileSync(`${this.indexPath}.json.tmp`, JSON.stringify(sidecar));
      renameSync(`${this.indexPath}.json.tmp`, `${this.indexPath}.json`);
      this.savedGeneration = this.generation;
      this.firstUnsavedAt = 0;
    } catch {
      // The index is derived data: a failed save costs a rebuild on the next open, nothing more.
      rmSync(tmp, { force: true });
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new CadreError('store_failed', 'The vector store is closed');
  }
}

const positiveInt = (name: string, value: number | undefined, fallback: number, max: number): number => {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new CadreError('config_invalid', `${name} must be an integer from 1 to ${max}, got ${value}`);
  return v;
};

/**
 * Opens (creating if needed) an embedded vector store in a directory. A store made with other
 * `dimensions` or another `embedder` is `config_invalid`: its vectors would not be comparable.
 */
export async function openEmbeddedVectorStore(options: EmbeddedVectorStoreOptions): Promise<EmbeddedVectorStore> {
  const dimensions = positiveInt('dimensions', options.dimensions, 0, 65_536);
  const connectivity = positiveInt('connectivity', options.connectivity, defaultConnectivity, 256);
  const expansionSearch = positiveInt('expansionSearch', options.expansionSearch, defaultExpansionSearch, 4096);
  if (typeof options.path !== 'string' || options.path === '') throw new CadreError('config_invalid', 'path must name a directory');
  let db: Database.Database;
  try {
    mkdirSync(options.path, { recursive: true });
    db = new Database(join(options.path, 'vectors.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS items (key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL, "user" TEXT,
        agent TEXT, run TEXT, payload TEXT NOT NULL, text TEXT, vector BLOB NOT NULL, updated_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS items_scope ON items (tenant, "user", agent, run);`);
  } catch (error) {
    throw new CadreError('store_failed', `Cannot open the vector store at ${options.path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const meta = (name: string) => (db.prepare('SELECT value FROM meta WHERE name = ?').get(name) as { value: string } | undefined)?.value;
    const setMeta = db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)');
    const stored = meta('dimensions');
    if (stored !== undefined && Number(stored) !== dimensions) {
      throw new CadreError('config_invalid', `The vector store at ${options.path} holds ${stored}-dimensional vectors, not ${dimensions}`);
    }
    const embedder = meta('embedder');
    if (options.embedder !== undefined && embedder !== undefined && embedder !== options.embedder) {
      throw new CadreError('config_invalid', `The vector store at ${options.path} was made with embedder "${embedder}", not "${options.embedder}"`);
    }
    db.transaction(() => {
      setMeta.run('dimensions', String(dimensions));
      if (options.embedder !== undefined) setMeta.run('embedder', options.embedder);
    })();
    return new EmbeddedVectorStore(db, options.path, dimensions, { connectivity, expansionSearch });
  } catch (error) {
    db.close();
    throw CadreError.from(error, 'store_failed');
  }
}
