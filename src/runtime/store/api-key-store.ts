import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CadreError, type ApiKeyRecord, type ApiKeys, type CreatedApiKey } from '../../core/index.js';
import type { SqliteDatabase } from './database.js';
import { WriteBatch } from './write-batch.js';

export type { ApiKeyRecord, ApiKeys, CreatedApiKey } from '../../core/index.js';

interface Row {
  id: string;
  name: string;
  hash: Buffer;
  admin: number;
  created_at: number;
  revoked_at: number | null;
}

const prefix = 'cadre_';
// `cadre_<id>_<secret>`: the id finds the row, the secret is compared by hash.
const keyShape = /^cadre_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
// Keys carry 256 random bits, so a fast hash is enough: there is nothing to guess from it.
const hashOf = (key: string) => createHash('sha256').update(key).digest();
// Compared against when no row matches, so a wrong id costs the same as a wrong secret.
const decoy = hashOf('cadre-decoy');

/** A new key: the record to store (with the key's hash) and the key itself, shown once. */
export function newApiKey(options: { name?: string; admin?: boolean } = {}): {
  created: CreatedApiKey;
  hash: Buffer;
} {
  const name = options.name ?? 'default';
  if (!/^[\w .:@-]{1,64}$/.test(name))
    throw new CadreError('input_invalid', 'A key name is 1-64 letters, digits, spaces or _ . : @ -');
  const id = randomBytes(6).toString('hex');
  const key = `${prefix}${id}_${randomBytes(32).toString('base64url')}`;
  return { created: { id, name, admin: Boolean(options.admin), createdAt: Date.now(), key }, hash: hashOf(key) };
}

/** The id a key names, or undefined when it does not have a key's shape. */
export const apiKeyId = (key: string): string | undefined => keyShape.exec(key)?.[1];

/**
 * Whether `key` is the one `stored` holds the hash of (none found: compared against a decoy, so a
 * wrong id costs the time a wrong secret does).
 */
export function apiKeyMatches(key: string, stored: Buffer | undefined): boolean {
  return timingSafeEqual(hashOf(key), stored ?? decoy) && stored !== undefined;
}

/** The embedded file's keys behind the asynchronous {@link ApiKeys} calls. */
export function sqliteApiKeys(db: SqliteDatabase): ApiKeys {
  const store = new ApiKeyStore(db);
  return {
    create: async (options) => store.create(options),
    verify: async (key) => store.verify(key),
    list: async () => store.list(),
    revoke: async (id) => store.revoke(id),
    hasLiveKey: async () => store.hasLiveKey(),
  };
}

/** The HTTP API's keys in cadre's SQLite database, answering at once (see {@link ApiKeys}). */
export class ApiKeyStore {
  private readonly insert;
  private readonly byId;
  private readonly all;
  private readonly revokeStatement;
  private readonly batch: WriteBatch;

  constructor(db: SqliteDatabase) {
    this.batch = WriteBatch.of(db);
    this.insert = db.prepare('INSERT INTO api_keys (id, name, hash, admin, created_at) VALUES (?, ?, ?, ?, ?)');
    this.byId = db.prepare<[string], Row>('SELECT * FROM api_keys WHERE id = ?');
    this.all = db.prepare<[], Row>('SELECT * FROM api_keys ORDER BY created_at, id');
    this.revokeStatement = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  /** Makes a key, committed before this returns; the returned `key` is the only copy. */
  create(options: { name?: string; admin?: boolean } = {}): CreatedApiKey {
    const { created, hash } = newApiKey(options);
    this.batch.write(() => this.insert.run(created.id, created.name, hash, created.admin ? 1 : 0, created.createdAt));
    this.batch.commit();
    return created;
  }

  /** The key's record when `key` is a live (not revoked) key; undefined otherwise. */
  verify(key: string): ApiKeyRecord | undefined {
    const id = apiKeyId(key);
    const row = id !== undefined ? this.byId.get(id) : undefined;
    if (!apiKeyMatches(key, row?.hash) || !row || row.revoked_at !== null) return undefined;
    return toRecord(row);
  }

  /** Every key, live and revoked, oldest first. */
  list(): ApiKeyRecord[] {
    return this.all.all().map(toRecord);
  }

  /** Revokes a key at once; false when there is no such live key. */
  revoke(id: string): boolean {
    let changed = 0;
    this.batch.write(() => (changed = this.revokeStatement.run(Date.now(), id).changes));
    this.batch.commit();
    return changed > 0;
  }

  /** Whether any key that is not revoked exists. */
  hasLiveKey(): boolean {
    return this.list().some((k) => k.revokedAt === undefined);
  }
}

function toRecord(row: Row): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    admin: row.admin === 1,
    createdAt: row.created_at,
    ...(row.revoked_at !== null ? { revokedAt: row.revoked_at } : {}),
  };
}
