import type Database from 'better-sqlite3';
import { isVisible, scopeLevels, type Scope } from '../scope.js';
import type { JsonValue, VectorHit } from '../vector-store.js';
import { invalid, rowColumns, sameScope, scopeOf, type Prepared } from './vector-input.js';

/** An item as read back from the `items` table, without its vector. */
export interface Row {
  key: number;
  id: string;
  tenant: string;
  user: string | null;
  agent: string | null;
  run: string | null;
  payload: string;
  text: string | null;
}

/** A row as a query hit; `text` only when the item has one. */
export const rowHit = (row: Row, score: number): VectorHit => ({
  id: row.id,
  score,
  scope: scopeOf(row),
  payload: JSON.parse(row.payload) as Record<string, JsonValue>,
  ...(row.text !== null ? { text: row.text } : {}),
});

/**
 * The `items` table of an embedded vector store: every item with its vector as a BLOB of 32-bit
 * floats. It is the truth the HNSW index is rebuilt from, and counts the writes in `generation` so
 * a saved index can tell whether it is behind.
 */
export class VectorRows {
  generation: number;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.generation = Number(this.meta('index_generation') ?? 0);
  }

  /**
   * Writes prepared items in one transaction, replacing those whose id exists in the same scope.
   * Returns each item's key, in order, and the keys whose old vectors must leave the index.
   */
  upsert(prepared: Iterable<Prepared>, now: number): { keys: number[]; replaced: number[] } {
    const update = this.sql('UPDATE items SET payload = ?, text = ?, vector = ?, updated_at = ? WHERE key = ?');
    const insert = this.sql(
      'INSERT INTO items (id, tenant, "user", agent, run, payload, text, vector, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const replaced: number[] = [];
    const keys = this.db.transaction(() => {
      const out: number[] = [];
      for (const p of prepared) {
        const blob = Buffer.from(p.vector.buffer, p.vector.byteOffset, p.vector.byteLength);
        const old = this.rowById(p.id);
        if (old) {
          // Replacing across scopes would let one tenant overwrite (or hide) another's item.
          if (!sameScope(scopeOf(old), p.scope))
            throw invalid(`Item "${p.id}": the id is taken in another scope; delete it there first`, { id: p.id });
          update.run(p.payload, p.text, blob, now, old.key);
          replaced.push(old.key);
          out.push(old.key);
        } else {
          const s = p.scope;
          out.push(
            Number(
              insert.run(p.id, s.tenant, s.user ?? null, s.agent ?? null, s.run ?? null, p.payload, p.text, blob, now)
                .lastInsertRowid,
            ),
          );
        }
      }
      this.bumpGeneration();
      return out;
    })();
    return { keys, replaced };
  }

  /** Deletes the items with these ids that the scope can see, in one transaction; returns their keys. */
  delete(ids: readonly string[], scope: Scope): number[] {
    const remove = this.sql('DELETE FROM items WHERE key = ?');
    return this.db.transaction(() => {
      const out: number[] = [];
      for (const id of new Set(ids)) {
        const row = this.rowById(id);
        if (row && isVisible(scopeOf(row), scope)) {
          remove.run(row.key);
          out.push(row.key);
        }
      }
      if (out.length > 0) this.bumpGeneration();
      return out;
    })();
  }

  /** The row with this key, if there is one. */
  byKey(key: number | bigint): Row | undefined {
    return this.sql(`SELECT ${rowColumns} FROM items WHERE key = ?`).get(key) as Row | undefined;
  }

  /** Rows visible in a scope; `atMost` stops counting past that many, for when only "is it small?" matters. */
  countVisible(scope: Scope, atMost?: number): number {
    const where = this.visibleWhere(scope);
    const text =
      atMost !== undefined
        ? `SELECT COUNT(*) AS n FROM (SELECT 1 FROM items WHERE ${where} LIMIT ${atMost + 1})`
        : `SELECT COUNT(*) AS n FROM items WHERE ${where}`;
    return (this.sql(text).get(this.scopeParams(scope)) as { n: number }).n;
  }

  /** Key and vector of every row visible in a scope, and the payload when a filter needs it. */
  visibleVectors(scope: Scope, withPayload: boolean): { key: number; vector: Buffer; payload?: string }[] {
    // Only key, vector (and payload when filtering) per row: whole rows cost twice as much to read.
    return this.sql(
      `SELECT key, vector${withPayload ? ', payload' : ''} FROM items WHERE ${this.visibleWhere(scope)}`,
    ).all(this.scopeParams(scope)) as { key: number; vector: Buffer; payload?: string }[];
  }

  /** Every row's key and scope columns. */
  scopes(): IterableIterator<Pick<Row, 'key' | 'tenant' | 'user' | 'agent' | 'run'>> {
    return this.sql('SELECT key, tenant, "user", agent, run FROM items').iterate() as IterableIterator<Row>;
  }

  /** Every row's key and vector BLOB, for rebuilding the index. */
  vectors(): IterableIterator<{ key: number; vector: Buffer }> {
    return this.db.prepare('SELECT key, vector FROM items').iterate() as IterableIterator<{
      key: number;
      vector: Buffer;
    }>;
  }

  count(): number {
    return (this.sql('SELECT COUNT(*) AS n FROM items').get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }

  /** The WHERE clause for the rows visible in a scope: one text per shape of scope, so statements are cached. */
  private visibleWhere(scope: Scope): string {
    return [
      'tenant = @tenant',
      ...scopeLevels.map((l) => (scope[l] === undefined ? `"${l}" IS NULL` : `("${l}" IS NULL OR "${l}" = @${l})`)),
    ].join(' AND ');
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

  private meta(name: string): string | undefined {
    return (this.sql('SELECT value FROM meta WHERE name = ?').get(name) as { value: string } | undefined)?.value;
  }

  private bumpGeneration(): void {
    this.generation += 1;
    this.sql("INSERT OR REPLACE INTO meta (name, value) VALUES ('index_generation', ?)").run(String(this.generation));
  }
}
