import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CadreError } from '../../src/core/index.js';

/** Opens (creating if needed) `vectors.db` in a directory, with the items and meta tables; `store_failed` if it cannot. */
export function openVectorDatabase(path: string): Database.Database {
  try {
    mkdirSync(path, { recursive: true });
    const db = new Database(join(path, 'vectors.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS items (key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL, "user" TEXT,
        agent TEXT, run TEXT, payload TEXT NOT NULL, text TEXT, vector BLOB NOT NULL, updated_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS items_scope ON items (tenant, "user", agent, run);`);
    return db;
  } catch (error) {
    throw new CadreError('store_failed', `Cannot open the vector store at ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Records the store's dimensions and embedder, refusing (`config_invalid`) a store made with others:
 * its vectors would not be comparable.
 */
export function claimVectorDatabase(
  db: Database.Database,
  options: { path: string; dimensions: number; embedder?: string },
): void {
  const { path, dimensions } = options;
  const meta = (name: string) =>
    (db.prepare('SELECT value FROM meta WHERE name = ?').get(name) as { value: string } | undefined)?.value;
  const setMeta = db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)');
  const stored = meta('dimensions');
  if (stored !== undefined && Number(stored) !== dimensions) {
    throw new CadreError(
      'config_invalid',
      `The vector store at ${path} holds ${stored}-dimensional vectors, not ${dimensions}`,
    );
  }
  const embedder = meta('embedder');
  if (options.embedder !== undefined && embedder !== undefined && embedder !== options.embedder) {
    throw new CadreError(
      'config_invalid',
      `The vector store at ${path} was made with embedder "${embedder}", not "${options.embedder}"`,
    );
  }
  db.transaction(() => {
    setMeta.run('dimensions', String(dimensions));
    if (options.embedder !== undefined) setMeta.run('embedder', options.embedder);
  })();
}
