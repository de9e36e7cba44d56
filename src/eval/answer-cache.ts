import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { StoredMessage } from '@langchain/core/messages';
import { CadreError, type Usage } from '../core/index.js';

/** A model's reply as the cache keeps it, with what it cost when it was made. */
export interface CachedAnswer {
  message: StoredMessage;
  model: string;
  usage: Usage;
  costUsd: number;
}

/** Model replies by prompt hash, so a rerun of a suite calls no model for prompts it has seen. */
export interface AnswerCache {
  /** The reply stored under a prompt key, if any. */
  get(key: string): CachedAnswer | undefined;
  /** Stores a reply under its prompt key, replacing one already there. */
  put(key: string, answer: CachedAnswer): void;
  /** How many replies the cache holds. */
  size(): number;
  /** Closes the file; the cache cannot be used after. */
  close(): void;
}

/**
 * Opens (creating it if need be) the SQLite file of cached model replies at `path`; `:memory:` keeps
 * them for this process only. Throws `store_failed` when the file cannot be opened.
 */
export function openAnswerCache(options: { path: string }): AnswerCache {
  let db: Database.Database;
  try {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    db = new Database(options.path);
    db.pragma('journal_mode = WAL');
    db.exec(
      `CREATE TABLE IF NOT EXISTS answers (
         key TEXT PRIMARY KEY, model TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL
       ) WITHOUT ROWID`,
    );
  } catch (error) {
    throw new CadreError('store_failed', `Cannot open the answer cache ${options.path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const read = db.prepare<[string], { body: string }>('SELECT body FROM answers WHERE key = ?');
  const write = db.prepare('INSERT OR REPLACE INTO answers (key, model, body, created_at) VALUES (?, ?, ?, ?)');
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM answers');
  return {
    get: (key) => {
      const row = read.get(key);
      return row ? (JSON.parse(row.body) as CachedAnswer) : undefined;
    },
    put: (key, answer) => void write.run(key, answer.model, JSON.stringify(answer), Date.now()),
    size: () => count.get()!.n,
    close: () => {
      if (db.open) db.close();
    },
  };
}
