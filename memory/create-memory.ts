import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CadreError } from '../src/core/index.js';
import type { Embedder } from '../src/models/embedder.js';
import { HashingEmbedder } from '../src/models/hashing-embedder.js';
import { privateEmbedder } from '../src/models/private-embedder.js';
import type { GraphStore } from './graph-store.js';
import { SqliteGraphStore } from './graph/sqlite-graph-store.js';
import { Memory } from './memory.js';
import type { Scope } from './scope.js';
import { SqliteEpisodeStore } from './sqlite-episode-store.js';
import { SqliteProceduralStore } from './sqlite-procedural-store.js';
import type { VectorStore } from './vector-store.js';
import { openEmbeddedVectorStore } from './vector/embedded-vector-store.js';

/** Where {@link createMemory} keeps its stores, its default scope, and stores or an embedder to use instead. */
export interface CreateMemoryOptions {
  /** Folder of the embedded stores. Default `.cadre/memory`. */
  dir?: string;
  /** Where reads and writes happen unless a call names another scope. Default `{ tenant: 'default' }`. */
  scope?: Scope;
  /**
   * Default: the offline HashingEmbedder (lexical, 384 dims). Use a model embedder for semantic recall.
   * A cloud one never gets text from a sensitive run or text holding personal data: that step is skipped.
   */
  embedder?: Embedder;
  /** A VectorStore to use instead of the embedded one or Qdrant. */
  vector?: VectorStore;
  /** A GraphStore to use instead of the embedded one or Neo4j. */
  graph?: GraphStore;
  /** Read for QDRANT_URL, QDRANT_API_KEY, QDRANT_COLLECTION, NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Opens cadre's memory: everything embedded under `dir` (SQLite, and a usearch index for vectors)
 * unless QDRANT_URL or NEO4J_URI are set, in which case vectors or the graph live there — no other
 * change in code. Server clients are loaded only when used.
 */
export async function createMemory(options: CreateMemoryOptions = {}): Promise<Memory> {
  const env = options.env ?? process.env;
  const dir = options.dir ?? join('.cadre', 'memory');
  // Every store embeds through this one: a cloud embedder never gets sensitive text, whichever store asks.
  const embedder = privateEmbedder(options.embedder ?? new HashingEmbedder({ dimensions: 384 }));
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new CadreError('store_failed', `Cannot create the memory folder ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const db = new Database(join(dir, 'memory.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const vector = options.vector ?? (await openVectorStore(env, dir, embedder));
  const graph = options.graph ?? (await openGraphStore(env, db));
  const episodes = new SqliteEpisodeStore(db, { embedder });
  const procedures = new SqliteProceduralStore(db, { embedder });
  return new Memory(
    { embedder, vector, graph, episodes, procedures },
    {
      scope: options.scope ?? { tenant: 'default' },
      close: async () => {
        if (!options.vector) await vector.close();
        if (!options.graph) await graph.close();
        if (db.open) db.close();
      },
    },
  );
}

async function openVectorStore(env: NodeJS.ProcessEnv, dir: string, embedder: Embedder): Promise<VectorStore> {
  if (env.QDRANT_URL) {
    const { openQdrantVectorStore } = await import('./vector/qdrant-vector-store.js');
    return openQdrantVectorStore({
      url: env.QDRANT_URL,
      collection: env.QDRANT_COLLECTION ?? 'cadre_memory',
      dimensions: embedder.dimensions,
      embedder: embedder.name,
      ...(env.QDRANT_API_KEY ? { apiKey: env.QDRANT_API_KEY } : {}),
    });
  }
  return openEmbeddedVectorStore({
    path: join(dir, 'vectors'),
    dimensions: embedder.dimensions,
    embedder: embedder.name,
  });
}

async function openGraphStore(env: NodeJS.ProcessEnv, db: Database.Database): Promise<GraphStore> {
  if (env.NEO4J_URI) {
    const { openNeo4jGraphStore } = await import('./graph/neo4j-graph-store.js');
    return openNeo4jGraphStore({
      uri: env.NEO4J_URI,
      user: env.NEO4J_USER ?? 'neo4j',
      password: env.NEO4J_PASSWORD ?? '',
    });
  }
  return new SqliteGraphStore(db);
}
