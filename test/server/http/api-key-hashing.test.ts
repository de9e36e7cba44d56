import { createHash } from 'node:crypto';
import * as crypto from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { testApi } from './http-fixtures.js';

// Every import of node:crypto in this file's module graph (the key store's included) gets a
// timingSafeEqual that records its calls and still compares for real.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof crypto>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});
const timingSafeEqual = vi.mocked(crypto.timingSafeEqual);

/** Every byte the database keeps on disk: the file and its WAL and shared-memory files. */
function databaseBytes(dir: string): Buffer {
  return Buffer.concat(
    readdirSync(dir)
      .filter((name) => name.startsWith('cadre.db'))
      .map((name) => readFileSync(join(dir, name))),
  );
}

/** A key's secret part: what follows `<id>_` (base64url, which may itself hold `_`). */
const secretOf = (key: string, id: string) => key.slice(key.indexOf(`${id}_`) + id.length + 1);

/** The same key with its last character changed (to another character of the key alphabet). */
const lastCharChanged = (key: string) => key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');

describe('API keys at rest and on the wire', () => {
  it('keeps no plaintext key in the database file, only its hash', async () => {
    const t = testApi({ server: { workers: 0 } });
    const created = [await t.api.keys.create({ name: 'one' }), await t.api.keys.create({ name: 'admin', admin: true })];
    // The keys work: they are what is stored, not something else.
    for (const { key } of created)
      expect((await t.api.app.request('/runs', { headers: t.headers(key) })).status).toBe(200);
    t.store.close();
    const bytes = databaseBytes(t.dir);
    expect(bytes.length).toBeGreaterThan(0);
    for (const { key, id } of created) {
      const secret = secretOf(key, id);
      expect(secret.length).toBeGreaterThanOrEqual(43);
      expect(bytes.includes(key), 'the whole key').toBe(false);
      expect(bytes.includes(secret), "the key's secret part").toBe(false);
      expect(bytes.includes(Buffer.from(secret, 'base64url')), "the secret's raw bytes").toBe(false);
      // What is kept: the id (to find the row) and the key's SHA-256.
      expect(bytes.includes(id)).toBe(true);
      expect(bytes.includes(createHash('sha256').update(key).digest())).toBe(true);
    }
    // And the table itself, read through SQLite: no column of any row holds a key or its secret.
    const db = new Database(join(t.dir, 'cadre.db'), { readonly: true });
    const rows = db.prepare('SELECT * FROM api_keys').all() as Array<Record<string, unknown>>;
    db.close();
    expect(rows).toHaveLength(2);
    const cells = rows
      .flatMap((row) => Object.values(row))
      .map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v)));
    for (const { key, id } of created)
      for (const cell of cells) {
        expect(cell.includes(key)).toBe(false);
        expect(cell.includes(secretOf(key, id))).toBe(false);
      }
    await t.api.shutdown();
  });

  it('refuses a key that differs only in its last character, and compares keys with crypto.timingSafeEqual', async () => {
    const t = testApi({ server: { workers: 0 } });
    const { key } = await t.api.keys.create();
    const near = lastCharChanged(key);
    expect(near).not.toBe(key);
    expect(near).toHaveLength(key.length);

    timingSafeEqual.mockClear();
    const good = await t.api.app.request('/runs', { headers: t.headers(key) });
    expect(good.status).toBe(200);
    expect(timingSafeEqual).toHaveBeenCalledTimes(1);
    expect(timingSafeEqual.mock.results[0]).toEqual({ type: 'return', value: true });

    timingSafeEqual.mockClear();
    for (const path of ['/runs', '/v1/models', '/threads']) {
      const refused = await t.api.app.request(path, { headers: t.headers(near) });
      expect(refused.status, path).toBe(401);
    }
    // Each refusal went through the constant-time comparison, which said no.
    expect(timingSafeEqual).toHaveBeenCalledTimes(3);
    expect(timingSafeEqual.mock.results.every((r) => r.type === 'return' && r.value === false)).toBe(true);
    // Compared as digests of equal length, never as the keys themselves.
    for (const [a, b] of timingSafeEqual.mock.calls) {
      expect(Buffer.from(a as Uint8Array)).toHaveLength(32);
      expect(Buffer.from(b as Uint8Array)).toHaveLength(32);
    }
    await t.api.shutdown();
  });
});
