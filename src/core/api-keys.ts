/* The HTTP API's keys as every store keeps them: the embedded file and PostgreSQL. */

/** An API key as stored: never the key itself, only its id, name and hash. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  /** An admin key sees and acts on every key's runs. */
  admin: boolean;
  createdAt: number;
  revokedAt?: number;
}

/** A key just made: `key` is shown once and is not kept anywhere. */
export interface CreatedApiKey extends ApiKeyRecord {
  key: string;
}

/**
 * The HTTP API's keys, as every store keeps them (the embedded file: `sqliteApiKeys`, PostgreSQL:
 * `openPostgresApiKeys`): stored hashed, compared in constant time. Revoked keys stay listed (with
 * `revokedAt`) and never authenticate again.
 */
export interface ApiKeys {
  /** Makes a key, committed before this resolves; the returned `key` is the only copy. */
  create(options?: { name?: string; admin?: boolean }): Promise<CreatedApiKey>;
  /** The key's record when `key` is a live (not revoked) key; undefined otherwise. */
  verify(key: string): Promise<ApiKeyRecord | undefined>;
  /** Every key, live and revoked, oldest first. */
  list(): Promise<ApiKeyRecord[]>;
  /** Revokes a key at once; false when there is no such live key. */
  revoke(id: string): Promise<boolean>;
  /** Whether any key that is not revoked exists. */
  hasLiveKey(): Promise<boolean>;
}
