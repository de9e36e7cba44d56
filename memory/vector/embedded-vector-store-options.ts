import { CadreError } from '../../src/core/index.js';
import { defaultConnectivity, defaultExpansionSearch } from './hnsw-index.js';

/** Where an embedded vector store lives, its vectors' size, and how its HNSW index is tuned. */
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

const positiveInt = (name: string, value: number | undefined, fallback: number, max: number): number => {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw new CadreError('config_invalid', `${name} must be an integer from 1 to ${max}, got ${value}`);
  return v;
};

/** The options with defaults filled in; `config_invalid` naming the first bad one. */
export function checkEmbeddedVectorStoreOptions(options: EmbeddedVectorStoreOptions): {
  dimensions: number;
  connectivity: number;
  expansionSearch: number;
} {
  const dimensions = positiveInt('dimensions', options.dimensions, 0, 65_536);
  const connectivity = positiveInt('connectivity', options.connectivity, defaultConnectivity, 256);
  const expansionSearch = positiveInt('expansionSearch', options.expansionSearch, defaultExpansionSearch, 4096);
  if (typeof options.path !== 'string' || options.path === '')
    throw new CadreError('config_invalid', 'path must name a directory');
  return { dimensions, connectivity, expansionSearch };
}
