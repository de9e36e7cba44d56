import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ApiKeyRecord, ApiKeys, CreatedApiKey } from '../core/index.js';
import {
  assertWithin,
  pause,
  hasCode,
  freshEachTest,
  globalTestApi,
  type ConformanceOptions,
} from './conformance-kit.js';

/** The keys every store makes: `cadre_`, twelve lowercase hex digits (the id), 43 base64url characters. */
const keyShape = /^cadre_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

/** The record a created key is stored as: everything but the key itself. */
const recordOf = ({ key: _key, ...record }: CreatedApiKey): ApiKeyRecord => record;

/** `key` with the character at `at` (negative: from the end) swapped for another of the key alphabet. */
function oneOff(key: string, at: number): string {
  const i = at < 0 ? key.length + at : at;
  const swapped = key[i] === 'a' ? 'b' : 'a';
  return `${key.slice(0, i)}${swapped}${key.slice(i + 1)}`;
}

/** A key of the right shape naming an id no store has made (a fresh random one). */
const unknownKey = () => `cadre_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`;

const ids = (records: ReadonlyArray<{ id: string }>) => records.map((record) => record.id);

/**
 * Defines the behaviour every ApiKeys must show (the embedded file's `sqliteApiKeys` and PostgreSQL's
 * `openPostgresApiKeys`) as a `describe` block: keys made in cadre's shape, with a name (or
 * 'default'), the admin flag and the store's clock; verified to their record only when given
 * exactly, never when off by a character, of another shape or naming an unknown id; listed oldest
 * first without the key; revoked once, after which they stay listed and never verify; `hasLiveKey`
 * following them; bad names refused; and many keys made at once. Keys have no owner to keep tests
 * apart, so `create` must give an empty store.
 */
export function apiKeyStoreConformance(options: ConformanceOptions<ApiKeys>): void {
  const { describe, it } = options.testApi ?? globalTestApi('apiKeyStoreConformance');

  const test = freshEachTest(options, it);

  /** Creates keys one after another, each with a later createdAt than the one before. */
  const createInTurn = async (keys: ApiKeys, inputs: ReadonlyArray<Parameters<ApiKeys['create']>[0]>) => {
    const created: CreatedApiKey[] = [];
    for (const [i, input] of inputs.entries()) {
      if (i > 0) await pause();
      created.push(await keys.create(input));
    }
    return created;
  };

  describe(`ApiKeys conformance: ${options.name}`, () => {
    test('creates a key of cadre’s shape, named, admin or not, stamped now, that verifies to its record', async (keys) => {
      const before = Date.now();
      const made = await keys.create();
      const after = Date.now();
      const match = keyShape.exec(made.key);
      assert.ok(match, `key ${made.key} is not cadre_<12 lowercase hex>_<43 base64url>`);
      assert.equal(match[1], made.id, 'the key names its id');
      assert.equal(made.name, 'default', 'a key made without a name is named default');
      assert.equal(made.admin, false, 'a key is not admin unless asked');
      assert.equal('revokedAt' in made, false, 'a new key has no revokedAt key');
      assertWithin(made.createdAt, before, after, 'createdAt');
      assert.deepEqual(Object.keys(made).sort(), ['admin', 'createdAt', 'id', 'key', 'name']);

      const verified = await keys.verify(made.key);
      assert.deepEqual(verified, recordOf(made), 'verify gives the record, as create gave it');
      assert.equal('key' in verified!, false, 'verify never gives the key back');

      const admin = await keys.create({ name: 'ops@host: deploy-1.2_x', admin: true });
      assert.match(admin.key, keyShape);
      assert.notEqual(admin.id, made.id);
      assert.notEqual(admin.key, made.key);
      assert.equal(admin.name, 'ops@host: deploy-1.2_x');
      assert.equal(admin.admin, true);
      assert.deepEqual(await keys.verify(admin.key), recordOf(admin));

      const plain = await keys.create({ name: 'ci', admin: false });
      assert.equal(plain.admin, false);
      assert.deepEqual(await keys.verify(plain.key), recordOf(plain));
    });

    test('lists every key oldest first, as stored, never with the key', async (keys) => {
      assert.deepEqual(await keys.list(), [], 'a new store lists no keys');
      const made = await createInTurn(keys, [{ name: 'first' }, { name: 'second', admin: true }, {}, { name: 'last' }]);
      for (let i = 1; i < made.length; i++)
        assert.ok(made[i]!.createdAt > made[i - 1]!.createdAt, 'keys created in turn have rising createdAt');
      const listed = await keys.list();
      assert.deepEqual(listed, made.map(recordOf), 'list gives every key, oldest first, as create gave it');
      for (const record of listed) assert.equal('key' in record, false, `list gives no key for ${record.id}`);
    });

    test('verifies a wrong key, a key one character off, a key of the wrong shape and an unknown id to undefined', async (keys) => {
      const made = await keys.create({ name: 'target' });
      const other = await keys.create({ name: 'other' });
      const secretOf = (created: CreatedApiKey) => created.key.slice(`cadre_${created.id}_`.length);
      const [id, secret, otherSecret] = [made.id, secretOf(made), secretOf(other)];

      const wrong = [
        `cadre_${id}_${otherSecret}`,
        `cadre_${other.id}_${secret}`,
        oneOff(made.key, -1),
        oneOff(made.key, -20),
        oneOff(made.key, 'cadre_'.length),
        oneOff(made.key, 'cadre_'.length + 11),
      ];
      for (const key of wrong) {
        assert.match(key, keyShape);
        assert.equal(await keys.verify(key), undefined, `a wrong key ${key} verifies`);
      }

      const misshapen = [
        '',
        'cadre_',
        made.key.slice(0, -1),
        `${made.key}A`,
        ` ${made.key}`,
        `${made.key}\n`,
        made.key.toUpperCase(),
        made.key.replace(/^cadre_/, 'CADRE_'),
        made.key.replace(/^cadre_/, 'cadr_'),
        `cadre_${id}${secret}`,
        `cadre_${id}_${secret.slice(0, 42)}=`,
        `Bearer ${made.key}`,
        id,
        secret,
      ];
      for (const key of misshapen) assert.equal(await keys.verify(key), undefined, `a misshapen key ${key} verifies`);

      for (let i = 0; i < 3; i++) assert.equal(await keys.verify(unknownKey()), undefined, 'an unknown id verifies');

      assert.deepEqual(await keys.verify(made.key), recordOf(made), 'the key itself still verifies');
      assert.deepEqual(await keys.verify(other.key), recordOf(other));
    });

    test('revokes a key once: it no longer verifies, stays listed with revokedAt, and other keys are untouched', async (keys) => {
      const [kept, revoked, alsoKept] = await createInTurn(keys, [{ name: 'kept' }, { name: 'revoked' }, {}]);
      const before = Date.now();
      assert.equal(await keys.revoke(revoked!.id), true, 'a live key is revoked');
      const after = Date.now();
      assert.equal(await keys.revoke(revoked!.id), false, 'a revoked key is not revoked again');
      assert.equal(await keys.verify(revoked!.key), undefined, 'a revoked key no longer verifies');

      const listed = await keys.list();
      assert.deepEqual(ids(listed), ids([kept!, revoked!, alsoKept!]), 'a revoked key stays listed, in its place');
      const { revokedAt, ...rest } = listed[1]!;
      assert.ok(revokedAt !== undefined, 'a revoked key is listed with revokedAt');
      assertWithin(revokedAt, before, after, 'revokedAt');
      assert.deepEqual(rest, recordOf(revoked!), 'revoking changes nothing of the key but revokedAt');
      assert.deepEqual(listed[0], recordOf(kept!), 'other keys are listed as they were');
      assert.deepEqual(listed[2], recordOf(alsoKept!));
      assert.deepEqual(await keys.verify(kept!.key), recordOf(kept!), 'other keys still verify');
      assert.deepEqual(await keys.verify(alsoKept!.key), recordOf(alsoKept!));

      await pause();
      assert.equal(await keys.revoke(revoked!.id), false);
      assert.deepEqual((await keys.list())[1], listed[1], 'revoking again leaves revokedAt as it was');
    });

    test('revokes an unknown id as false, changing nothing', async (keys) => {
      const made = await keys.create();
      assert.equal(await keys.revoke(randomBytes(6).toString('hex')), false);
      assert.equal(await keys.revoke(''), false);
      assert.equal(await keys.revoke(made.key), false, 'a key is not an id');
      assert.deepEqual(await keys.list(), [recordOf(made)]);
      assert.deepEqual(await keys.verify(made.key), recordOf(made));
    });

    test('has a live key after a create, and not before it nor once every key is revoked', async (keys) => {
      assert.equal(await keys.hasLiveKey(), false, 'an empty store has no live key');
      const first = await keys.create();
      assert.equal(await keys.hasLiveKey(), true, 'a created key is live');
      const second = await keys.create({ admin: true });
      assert.equal(await keys.revoke(first.id), true);
      assert.equal(await keys.hasLiveKey(), true, 'one key of two revoked: one is live');
      assert.equal(await keys.revoke(second.id), true);
      assert.equal(await keys.hasLiveKey(), false, 'every key revoked: none is live');
      assert.equal((await keys.list()).length, 2, 'revoked keys are still listed');
      await keys.create();
      assert.equal(await keys.hasLiveKey(), true, 'a key created after is live');
    });

    test('refuses a bad name (empty, too long, with /) as input_invalid and stores nothing', async (keys) => {
      for (const name of ['', 'x'.repeat(65), 'team/key']) {
        await assert.rejects(keys.create({ name }), hasCode('input_invalid'), `name ${JSON.stringify(name)}`);
        await assert.rejects(keys.create({ name, admin: true }), hasCode('input_invalid'));
      }
      assert.deepEqual(await keys.list(), [], 'a refused key is not stored');
      assert.equal(await keys.hasLiveKey(), false);
      const longest = await keys.create({ name: 'x'.repeat(64) });
      assert.equal(longest.name, 'x'.repeat(64), 'a name of 64 characters is kept');
    });

    test('makes 20 keys at once, each with an id of its own, that all verify', async (keys) => {
      const made = await Promise.all(
        Array.from({ length: 20 }, (_, i) => keys.create({ name: `key ${i}`, admin: i % 2 === 0 })),
      );
      assert.equal(new Set(ids(made)).size, 20, 'every key has an id of its own');
      assert.equal(new Set(made.map((k) => k.key)).size, 20);
      const verified = await Promise.all(made.map((k) => keys.verify(k.key)));
      assert.deepEqual(verified, made.map(recordOf), 'every key verifies to its record');
      const listed = await keys.list();
      assert.equal(listed.length, 20);
      assert.deepEqual([...ids(listed)].sort(), [...ids(made)].sort(), 'list gives every key made at once');
      for (let i = 1; i < listed.length; i++)
        assert.ok(listed[i]!.createdAt >= listed[i - 1]!.createdAt, 'list is oldest first');
    });
  });
}
