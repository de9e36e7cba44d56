import assert from 'node:assert/strict';
import type { Scope } from '../../memory/scope.js';
import type { VectorFilter, VectorItem, VectorStore } from '../../memory/vector-store.js';
import { globalTestApi, type ConformanceTestApi } from './conformance-kit.js';

const dims = 8;

/** A unit vector along axis `i`, tilted a little towards axis `i + 1` by `tilt`. */
const axis = (i: number, tilt = 0): number[] =>
  Array.from({ length: dims }, (_, d) => (d === i % dims ? 1 : d === (i + 1) % dims ? tilt : 0));
const item = (
  id: string,
  vector: number[],
  scope: Scope = { tenant: 'a' },
  payload?: VectorItem['payload'],
): VectorItem => ({
  id,
  vector,
  scope,
  ...(payload ? { payload } : {}),
});

async function rejectsInvalid(action: () => Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(action, (error: { code?: string }) => {
    assert.equal(error.code, 'input_invalid', `${what}: expected code input_invalid, got ${String(error.code)}`);
    return true;
  });
}

/**
 * Defines the behaviour every VectorStore must show as a `describe` block: similarity order, k,
 * replace, delete, filters, scope isolation and all-or-nothing rejection of bad input. `create`
 * must return an empty store of the given dimensions each time; the suite closes it after each test.
 */
export function describeVectorStoreConformance(
  name: string,
  create: (dimensions: number) => Promise<VectorStore>,
  { describe, it }: ConformanceTestApi = globalTestApi('describeVectorStoreConformance'),
): void {
  const test = (title: string, body: (store: VectorStore) => Promise<void>) =>
    it(title, async () => {
      const store = await create(dims);
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });

  describe(`VectorStore conformance: ${name}`, () => {
    test('returns the nearest item first, with score ≈ 1 for the same vector', async (store) => {
      assert.equal(store.dimensions, dims);
      await store.upsert([
        item('x', axis(0)),
        item('near', axis(0, 0.3), { tenant: 'a' }, { kind: 'near' }),
        item('far', axis(4)),
      ]);
      const hits = await store.query(axis(0), { scope: { tenant: 'a' } });
      assert.deepEqual(
        hits.map((h) => h.id),
        ['x', 'near', 'far'],
      );
      assert.ok(Math.abs(hits[0]!.score - 1) < 1e-3, `score ${hits[0]!.score}`);
      assert.ok(hits[1]!.score < hits[0]!.score && hits[2]!.score < hits[1]!.score);
      assert.deepEqual(hits[1]!.payload, { kind: 'near' });
      assert.deepEqual(hits[1]!.scope, { tenant: 'a' });
    });

    test('keeps the text an item was made from', async (store) => {
      await store.upsert([{ id: 't', vector: axis(1), scope: { tenant: 'a' }, text: 'the source sentence' }]);
      assert.equal((await store.query(axis(1), { scope: { tenant: 'a' } }))[0]!.text, 'the source sentence');
    });

    test('returns at most k hits, 10 by default', async (store) => {
      await store.upsert(Array.from({ length: 12 }, (_, i) => item(`i${i}`, axis(i, i / 12))));
      assert.equal((await store.query(axis(0), { scope: { tenant: 'a' } })).length, 10);
      assert.equal((await store.query(axis(0), { scope: { tenant: 'a' }, k: 3 })).length, 3);
    });

    test('replaces an item upserted again with the same id', async (store) => {
      await store.upsert([item('x', axis(0), { tenant: 'a' }, { v: 1 })]);
      await store.upsert([item('x', axis(5), { tenant: 'a' }, { v: 2 })]);
      assert.equal(await store.count(), 1);
      const hits = await store.query(axis(5), { scope: { tenant: 'a' } });
      assert.deepEqual(
        hits.map((h) => [h.id, h.payload]),
        [['x', { v: 2 }]],
      );
      assert.ok(hits[0]!.score > 0.999);
    });

    test('deletes only the ids visible in the scope', async (store) => {
      await store.upsert([item('a1', axis(0)), item('a2', axis(1)), item('b1', axis(2), { tenant: 'b' })]);
      assert.equal(await store.delete(['b1', 'missing'], { tenant: 'a' }), 0);
      assert.equal(await store.delete(['a1', 'b1'], { tenant: 'a' }), 1);
      assert.equal(await store.count(), 2);
      assert.deepEqual(
        (await store.query(axis(0), { scope: { tenant: 'a' } })).map((h) => h.id),
        ['a2'],
      );
    });

    test('counts items by scope', async (store) => {
      await store.upsert([
        item('t', axis(0)),
        item('u1', axis(1), { tenant: 'a', user: 'u1' }),
        item('u2', axis(2), { tenant: 'a', user: 'u2' }),
        item('b', axis(3), { tenant: 'b' }),
      ]);
      assert.equal(await store.count(), 4);
      assert.equal(await store.count({ tenant: 'a' }), 1);
      assert.equal(await store.count({ tenant: 'a', user: 'u1' }), 2);
      assert.equal(await store.count({ tenant: 'b' }), 1);
      assert.equal(await store.count({ tenant: 'c' }), 0);
    });

    test('filters on equality, set membership and numeric ranges of payload fields', async (store) => {
      await store.upsert([
        item('p1', axis(0), { tenant: 'a' }, { kind: 'note', year: 2020, tags: ['x'] }),
        item('p2', axis(0, 0.1), { tenant: 'a' }, { kind: 'fact', year: 2022 }),
        item('p3', axis(0, 0.2), { tenant: 'a' }, { kind: 'note', year: 2024 }),
        item('p4', axis(0, 0.3), { tenant: 'a' }, { kind: 'todo', year: '2024' }),
      ]);
      const ids = async (filter: VectorFilter) =>
        (await store.query(axis(0), { scope: { tenant: 'a' }, filter })).map((h) => h.id);
      assert.deepEqual(await ids({ kind: 'note' }), ['p1', 'p3']);
      assert.deepEqual(await ids({ kind: { in: ['fact', 'todo'] } }), ['p2', 'p4']);
      assert.deepEqual(await ids({ year: { gte: 2022 } }), ['p2', 'p3']);
      assert.deepEqual(await ids({ year: { gt: 2020, lt: 2024 } }), ['p2']);
      assert.deepEqual(await ids({ kind: 'note', year: { lte: 2022 } }), ['p1']);
      assert.deepEqual(await ids({ missing: 'x' }), []);
    });

    test('rejects a malformed filter with input_invalid', async (store) => {
      await store.upsert([item('p', axis(0), { tenant: 'a' }, { n: 1 })]);
      const bad: unknown[] = [
        { n: { gt: 'one' } },
        { n: { between: [1, 2] } },
        { n: { in: 'x' } },
        { n: [1] },
        { n: {} },
        'n = 1',
      ];
      for (const filter of bad) {
        await rejectsInvalid(
          () => store.query(axis(0), { scope: { tenant: 'a' }, filter: filter as never }),
          JSON.stringify(filter),
        );
      }
    });

    test('never shows one tenant the items of another', async (store) => {
      await store.upsert([
        item('a', axis(0), { tenant: 'a' }),
        item('b', axis(0), { tenant: 'b' }),
        item('bu', axis(0), { tenant: 'b', user: 'u' }),
      ]);
      assert.deepEqual(
        (await store.query(axis(0), { scope: { tenant: 'a' } })).map((h) => h.id),
        ['a'],
      );
      assert.deepEqual(
        (await store.query(axis(0), { scope: { tenant: 'a', user: 'u' } })).map((h) => h.id),
        ['a'],
      );
    });

    test("hides a user's item from other users and from tenant-level queries, and shares tenant items with users", async (store) => {
      await store.upsert([
        item('shared', axis(0, 0.2)),
        item('mine', axis(0), { tenant: 'a', user: 'u1' }),
        item('agent', axis(0, 0.1), { tenant: 'a', agent: 'g' }),
      ]);
      const ids = async (scope: Scope) => (await store.query(axis(0), { scope })).map((h) => h.id);
      assert.deepEqual(await ids({ tenant: 'a', user: 'u1' }), ['mine', 'shared']);
      assert.deepEqual(await ids({ tenant: 'a', user: 'u2' }), ['shared']);
      assert.deepEqual(await ids({ tenant: 'a' }), ['shared']);
      assert.deepEqual(await ids({ tenant: 'a', user: 'u1', agent: 'g' }), ['mine', 'agent', 'shared']);
    });

    test('rejects bad input with input_invalid and leaves the store unchanged', async (store) => {
      await store.upsert([item('keep', axis(0))]);
      const cases: [string, unknown][] = [
        ['wrong dimension', item('d', [1, 0, 0])],
        [
          'NaN',
          item(
            'n',
            axis(0).map((x, i) => (i === 3 ? Number.NaN : x)),
          ),
        ],
        ['unknown scope key', item('s', axis(0), { tenant: 'a', team: 'x' } as Scope)],
        ['missing tenant', item('m', axis(0), { user: 'u' } as unknown as Scope)],
        ['oversized payload', item('p', axis(0), { tenant: 'a' }, { blob: 'x'.repeat(70 * 1024) })],
        ['empty id', item('', axis(0))],
      ];
      for (const [what, bad] of cases) {
        await rejectsInvalid(() => store.upsert([bad as VectorItem]), what);
        assert.equal(await store.count(), 1, `${what}: count changed`);
      }
      await rejectsInvalid(() => store.query([1, 2], { scope: { tenant: 'a' } }), 'query of wrong dimension');
      await rejectsInvalid(
        () => store.query(axis(0), { scope: { tenant: 'a', team: 'x' } as Scope }),
        'query with unknown scope key',
      );
      await rejectsInvalid(() => store.count({ user: 'u' } as unknown as Scope), 'count without tenant');
    });

    test('writes nothing from a batch with one bad item', async (store) => {
      await store.upsert([item('old', axis(0), { tenant: 'a' }, { v: 1 })]);
      const batch = [
        item('new1', axis(1)),
        item('old', axis(2), { tenant: 'a' }, { v: 2 }),
        item('bad', [...axis(3), 1]),
        item('new2', axis(4)),
      ];
      await assert.rejects(
        () => store.upsert(batch),
        (error: { code?: string; message: string }) => error.code === 'input_invalid' && error.message.includes('bad'),
      );
      assert.equal(await store.count(), 1);
      const hits = await store.query(axis(0), { scope: { tenant: 'a' } });
      assert.deepEqual(
        hits.map((h) => [h.id, h.payload]),
        [['old', { v: 1 }]],
      );
    });
  });
}
