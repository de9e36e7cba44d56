import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Index, MetricKind, ScalarKind, type Matches } from 'usearch';
import { float32FromBlob } from '../vectors.js';
import { readSidecar, sha256File, writeSidecar, type Sidecar } from './index-sidecar.js';
import type { VectorRows } from './vector-rows.js';

/*
 * Defaults chosen with `npm run bench:vector` (384 dims, 100 Gaussian clusters, see bench/README.md):
 * connectivity 16 and expansion_add 128 build the graph; searching with expansion 128 (and at least
 * 40 candidates, see indexSearch in vector-search.ts) gave recall@10 0.997 at 100k vectors for
 * ~0.1 ms more per query than expansion 64 (0.965), which is too close to the 0.95 target to be the
 * default.
 */
export const defaultConnectivity = 16;
const defaultExpansionAdd = 128;
export const defaultExpansionSearch = 128;
/** Save the index this long after the last write, and at least this often while writes continue. */
const saveDelayMs = 1000;
const saveMaxWaitMs = 30_000;

/** Why the index was rebuilt from SQLite when the store was opened, or `none`. */
export type IndexRepair = 'none' | 'missing' | 'corrupt' | 'stale';

/**
 * The usearch HNSW index of an embedded vector store, saved as `vectors.usearch` in its directory.
 * It is derived from the SQLite rows: loaded only when its sidecar vouches for it, else rebuilt.
 */
export class HnswIndex {
  private index: Index;
  private savedGeneration: number;
  private saveTimer: NodeJS.Timeout | undefined;
  private firstUnsavedAt = 0;
  private closed = false;
  /** Why the index was rebuilt on open (`none` when the saved one was loaded). */
  readonly repair: IndexRepair;

  constructor(
    private readonly rows: VectorRows,
    private readonly dir: string,
    private readonly dimensions: number,
    private readonly config: { connectivity: number; expansionSearch: number },
  ) {
    this.savedGeneration = rows.generation;
    this.index = this.newIndex();
    this.repair = this.load();
    if (this.repair !== 'none') this.save();
  }

  size(): number {
    return this.index.size();
  }

  /** The `want` nearest keys to a unit vector, with their cosine distances. */
  search(vector: Float32Array, want: number): Matches {
    return this.index.search(vector, want, 1);
  }

  /** Applies a change to the index after SQLite committed it; on failure the index is rebuilt. */
  write(change: (index: Index) => void): void {
    try {
      change(this.index);
    } catch {
      this.rebuild('stale');
    }
    if (this.firstUnsavedAt === 0) this.firstUnsavedAt = Date.now();
    clearTimeout(this.saveTimer);
    const wait = Math.max(0, Math.min(saveDelayMs, this.firstUnsavedAt + saveMaxWaitMs - Date.now()));
    this.saveTimer = setTimeout(() => this.save(), wait).unref();
  }

  /** Saves what is unsaved; nothing is saved after this. */
  close(): void {
    clearTimeout(this.saveTimer);
    if (this.rows.generation !== this.savedGeneration) this.save();
    this.closed = true;
  }

  private newIndex(): Index {
    return new Index({
      dimensions: this.dimensions,
      metric: MetricKind.Cos,
      quantization: ScalarKind.F32,
      connectivity: this.config.connectivity,
      expansion_add: defaultExpansionAdd,
      expansion_search: this.config.expansionSearch,
      multi: false,
    });
  }

  private get path(): string {
    return join(this.dir, 'vectors.usearch');
  }

  /** Loads the saved index if its sidecar vouches for it, else rebuilds; returns why it rebuilt. */
  private load(): IndexRepair {
    const rows = this.rows.count();
    if (!existsSync(this.path)) return this.rebuild('missing');
    let sidecar: Sidecar;
    try {
      sidecar = readSidecar(this.path);
    } catch {
      return this.rebuild('stale');
    }
    if (sidecar.generation !== this.rows.generation || sidecar.count !== rows || sidecar.dimensions !== this.dimensions)
      return this.rebuild('stale');
    // usearch trusts the file it loads and can crash the process on a corrupt one, so check first.
    if (sha256File(this.path) !== sidecar.sha256) return this.rebuild('corrupt');
    try {
      this.index.load(this.path);
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
    for (const row of this.rows.vectors()) {
      keys[n] = BigInt(row.key);
      vectors.set(float32FromBlob(row.vector), n * this.dimensions);
      if (++n === batch) flush();
    }
    flush();
    this.savedGeneration = -1;
    return reason;
  }

  /** Writes the index and then its sidecar, each by rename, so a crash leaves a pair that disagrees, never a torn file. */
  private save(): void {
    if (this.closed) return;
    const tmp = `${this.path}.tmp`;
    try {
      this.index.save(tmp);
      const sidecar: Sidecar = {
        generation: this.rows.generation,
        count: this.index.size(),
        dimensions: this.dimensions,
        sha256: sha256File(tmp),
      };
      renameSync(tmp, this.path);
      writeSidecar(this.path, sidecar);
      this.savedGeneration = this.rows.generation;
      this.firstUnsavedAt = 0;
    } catch {
      // The index is derived data: a failed save costs a rebuild on the next open, nothing more.
      rmSync(tmp, { force: true });
    }
  }
}
