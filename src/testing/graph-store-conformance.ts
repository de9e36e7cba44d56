import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { GraphStore, Relation } from '../../memory/graph-store.js';
import type { Scope } from '../../memory/scope.js';
import { CadreError } from '../core/index.js';
import { globalTestApi, type ConformanceTestApi } from './conformance-kit.js';

const year = (y: number, month = 1, day = 1) => Date.UTC(y, month - 1, day);
/** A fresh tenant per test, so the suite also runs against a shared, persistent database. */
const freshTenant = () => `conf-${randomUUID().slice(0, 8)}`;
const isInputInvalid = (e: unknown) => CadreError.isInstance(e) && e.code === 'input_invalid';
const objects = (facts: Relation[], predicate: string) =>
  facts.filter((f) => f.predicate === predicate).map((f) => f.objectId);

/**
 * Defines the behaviour every GraphStore must show as a `describe` block: resolution, temporal
 * facts, traversal, scope isolation and input checks. Each test works in its own tenant, so
 * `create` may return a store over existing data. Assertions use node:assert.
 */
export function describeGraphStoreConformance(
  name: string,
  create: () => Promise<GraphStore>,
  { describe, it }: ConformanceTestApi = globalTestApi('describeGraphStoreConformance'),
): void {
  const withStore = (body: (store: GraphStore, scope: Scope) => Promise<void>) => async () => {
    const store = await create();
    try {
      await body(store, { tenant: freshTenant() });
    } finally {
      await store.close();
    }
  };

  describe(`GraphStore conformance: ${name}`, () => {
    it(
      'resolves entities by name or alias regardless of case and punctuation, merging new aliases',
      withStore(async (store, scope) => {
        const [city] = await store.upsertEntities([{ name: 'New York City', type: 'city', aliases: ['NYC'] }], scope);
        const again = await store.upsertEntities(
          [
            { name: 'new  york city!', type: 'city' },
            { name: 'N.Y.C.', type: 'city' },
            { name: 'The Big Apple', type: 'city', aliases: ['nyc'] },
          ],
          scope,
        );
        assert.deepEqual(
          again.map((e) => e.id),
          [city!.id, city!.id, city!.id],
        );
        const [team] = await store.upsertEntities([{ name: 'New York City', type: 'team' }], scope);
        assert.notEqual(team!.id, city!.id, 'a different type is a different entity');
        const found = await store.findEntities('big apple', { scope });
        assert.equal(found[0]?.id, city!.id);
        assert.ok(found[0]!.aliases.includes('The Big Apple'), 'the new alias is merged');
        assert.ok(found[0]!.aliases.includes('NYC'));
        const twins = await store.upsertEntities(
          [
            { name: 'Ada', type: 'person' },
            { name: 'ADA', type: 'person' },
          ],
          scope,
        );
        assert.equal(twins[0]!.id, twins[1]!.id, 'duplicates within one call resolve to one entity');
        assert.equal((await store.count(scope)).entities, 3);
      }),
    );

    it(
      'resolves by embedding similarity when the names differ',
      withStore(async (store, scope) => {
        const [a] = await store.upsertEntities([{ name: 'Big Apple', type: 'city', embedding: [1, 0, 0] }], scope);
        const [b, c] = await store.upsertEntities(
          [
            { name: 'Gotham', type: 'city', embedding: [0.999, 0.01, 0] },
            { name: 'Paris', type: 'city', embedding: [0, 1, 0] },
          ],
          scope,
        );
        assert.equal(b!.id, a!.id);
        assert.notEqual(c!.id, a!.id);
      }),
    );

    it(
      'returns the facts about an entity as subject and as object, with literal types kept',
      withStore(async (store, scope) => {
        const [alice, acme] = await store.upsertEntities(
          [
            { name: 'Alice', type: 'person' },
            { name: 'Acme', type: 'company' },
          ],
          scope,
        );
        await store.upsertRelations(
          [
            {
              subject: alice!.id,
              predicate: 'works_at',
              object: acme!.id,
              validFrom: year(2020),
              provenance: { documentId: 'd1' },
            },
            {
              subject: { name: 'Bob', type: 'person' },
              predicate: 'works_at',
              object: { name: 'ACME', type: 'company' },
              validFrom: year(2021),
            },
            { subject: alice!.id, predicate: 'age', value: 30, validFrom: year(2020) },
          ],
          scope,
        );
        const aboutAcme = await store.factsAbout(acme!.id, { scope });
        assert.equal(aboutAcme.length, 2);
        assert.ok(aboutAcme.every((f) => f.objectId === acme!.id));
        const aboutAlice = await store.factsAbout(alice!.id, { scope });
        assert.deepEqual(aboutAlice.map((f) => [f.predicate, f.objectId ?? f.value]).sort(), [
          ['age', 30],
          ['works_at', acme!.id],
        ]);
        assert.deepEqual(aboutAlice.find((f) => f.predicate === 'works_at')!.provenance, { documentId: 'd1' });
      }),
    );

    it(
      'closes the current single-valued fact at the new validFrom and answers as-of queries from history',
      withStore(async (store, scope) => {
        const [paris] = await store.upsertRelations(
          [
            {
              subject: { name: 'Alice', type: 'person' },
              predicate: 'lives_in',
              object: { name: 'Paris', type: 'city' },
              validFrom: year(2015),
              singleValued: true,
            },
          ],
          scope,
        );
        const [berlin] = await store.upsertRelations(
          [
            {
              subject: paris!.subjectId,
              predicate: 'lives_in',
              object: { name: 'Berlin', type: 'city' },
              validFrom: year(2024),
              singleValued: true,
            },
          ],
          scope,
        );
        const before = await store.factsAbout(paris!.subjectId, { scope, asOf: year(2023, 6, 1) });
        assert.deepEqual(objects(before, 'lives_in'), [paris!.objectId]);
        assert.equal(before[0]!.validTo, year(2024), 'the old fact ends where the new one begins');
        assert.deepEqual(
          objects(await store.factsAbout(paris!.subjectId, { scope, asOf: year(2024, 6, 1) }), 'lives_in'),
          [berlin!.objectId],
        );
        assert.deepEqual(await store.factsAbout(paris!.subjectId, { scope, asOf: year(2010) }), []);
        assert.deepEqual(objects(await store.factsAbout(paris!.subjectId, { scope }), 'lives_in'), [berlin!.objectId]);
        const [same] = await store.upsertRelations(
          [
            {
              subject: paris!.subjectId,
              predicate: 'lives_in',
              object: berlin!.objectId!,
              validFrom: year(2025),
              singleValued: true,
            },
          ],
          scope,
        );
        assert.equal(same!.id, berlin!.id, 'an identical current fact is returned, not duplicated');
        assert.equal((await store.count(scope)).relations, 2);
      }),
    );

    it(
      'ends a back-dated single-valued fact where the current one begins',
      withStore(async (store, scope) => {
        const [berlin] = await store.upsertRelations(
          [
            {
              subject: { name: 'Alice', type: 'person' },
              predicate: 'lives_in',
              object: { name: 'Berlin', type: 'city' },
              validFrom: year(2024),
              singleValued: true,
            },
          ],
          scope,
        );
        const [paris] = await store.upsertRelations(
          [
            {
              subject: berlin!.subjectId,
              predicate: 'lives_in',
              object: { name: 'Paris', type: 'city' },
              validFrom: year(2015),
              singleValued: true,
            },
          ],
          scope,
        );
        assert.equal(paris!.validTo, year(2024));
        assert.deepEqual(objects(await store.factsAbout(berlin!.subjectId, { scope, asOf: year(2020) }), 'lives_in'), [
          paris!.objectId,
        ]);
        assert.deepEqual(objects(await store.factsAbout(berlin!.subjectId, { scope }), 'lives_in'), [berlin!.objectId]);
      }),
    );

    it(
      'keeps every current fact of a multi-valued predicate',
      withStore(async (store, scope) => {
        const facts = await store.upsertRelations(
          [
            {
              subject: { name: 'Alice', type: 'person' },
              predicate: 'speaks',
              object: { name: 'English', type: 'language' },
              validFrom: year(2000),
            },
            {
              subject: { name: 'alice', type: 'person' },
              predicate: 'speaks',
              object: { name: 'German', type: 'language' },
              validFrom: year(2010),
            },
          ],
          scope,
        );
        const now = await store.factsAbout(facts[0]!.subjectId, { scope });
        assert.deepEqual(objects(now, 'speaks'), [facts[0]!.objectId, facts[1]!.objectId]);
        assert.ok(now.every((f) => f.validTo === null));
      }),
    );

    it(
      'invalidate closes a fact without deleting it',
      withStore(async (store, scope) => {
        const [fact] = await store.upsertRelations(
          [
            {
              subject: { name: 'Bob', type: 'person' },
              predicate: 'member_of',
              object: { name: 'Chess Club', type: 'club' },
              validFrom: year(2020),
            },
          ],
          scope,
        );
        await store.invalidate(fact!.id, { scope, at: year(2022) });
        assert.deepEqual(
          (await store.factsAbout(fact!.subjectId, { scope, asOf: year(2021) })).map((f) => f.id),
          [fact!.id],
        );
        assert.deepEqual(await store.factsAbout(fact!.subjectId, { scope, asOf: year(2023) }), []);
        assert.equal((await store.count(scope)).relations, 1);
      }),
    );

    it(
      'returns neighbours within one and two hops, in either direction',
      withStore(async (store, scope) => {
        const [a, b, c, d] = await store.upsertEntities(
          ['A', 'B', 'C', 'D'].map((n) => ({ name: n, type: 'node' })),
          scope,
        );
        await store.upsertRelations(
          [
            [a, b],
            [b, c],
            [d, c],
          ].map(([s, o]) => ({ subject: s!.id, predicate: 'links', object: o!.id, validFrom: year(2020) })),
          scope,
        );
        const one = await store.neighbours(b!.id, { scope });
        assert.deepEqual(one.entities.map((e) => e.name).sort(), ['A', 'B', 'C']);
        assert.equal(one.relations.length, 2);
        const two = await store.neighbours(a!.id, { scope, hops: 2 });
        assert.deepEqual(two.entities.map((e) => e.name).sort(), ['A', 'B', 'C']);
        assert.equal(two.relations.length, 2);
        assert.deepEqual((await store.neighbours(a!.id, { scope, hops: 3 })).entities.map((e) => e.name).sort(), [
          'A',
          'B',
          'C',
          'D',
        ]);
        assert.deepEqual(
          (await store.neighbours(a!.id, { scope, asOf: year(2019) })).entities.map((e) => e.name),
          ['A'],
        );
      }),
    );

    it(
      'finds the shortest path, or null when disconnected or when the only link is no longer valid',
      withStore(async (store, scope) => {
        const [a, b, c, d, e] = await store.upsertEntities(
          ['A', 'B', 'C', 'D', 'E'].map((n) => ({ name: n, type: 'node' })),
          scope,
        );
        const links = await store.upsertRelations(
          [
            [a, b],
            [c, b],
            [c, d],
            [a, d],
          ].map(([s, o]) => ({ subject: s!.id, predicate: 'links', object: o!.id, validFrom: year(2020) })),
          scope,
        );
        await store.invalidate(links[3]!.id, { scope, at: year(2022) });
        assert.deepEqual(
          (await store.shortestPath(a!.id, d!.id, { scope, asOf: year(2021) }))?.map((r) => r.id),
          [links[3]!.id],
        );
        assert.deepEqual(
          (await store.shortestPath(a!.id, d!.id, { scope }))?.map((r) => r.id),
          [links[0]!.id, links[1]!.id, links[2]!.id],
        );
        assert.equal(await store.shortestPath(a!.id, d!.id, { scope, maxHops: 2 }), null);
        assert.equal(await store.shortestPath(a!.id, e!.id, { scope }), null);
        assert.deepEqual(await store.shortestPath(a!.id, a!.id, { scope }), []);
        await store.invalidate(links[0]!.id, { scope, at: year(2023) });
        assert.equal(await store.shortestPath(a!.id, b!.id, { scope, asOf: year(2024) }), null, 'the only link ended');
        assert.equal((await store.shortestPath(a!.id, b!.id, { scope, asOf: year(2021) }))?.length, 1);
      }),
    );

    it(
      'confines every read to the scope: tenants, private users and tenant-shared items',
      withStore(async (store, shared) => {
        const u1 = { ...shared, user: 'u1' };
        const u2 = { ...shared, user: 'u2' };
        const other = { tenant: freshTenant() };
        const [acme] = await store.upsertEntities([{ name: 'Acme', type: 'company' }], shared);
        const [secret] = await store.upsertRelations(
          [
            {
              subject: { name: 'Project Falcon', type: 'project' },
              predicate: 'owned_by',
              object: acme!.id,
              validFrom: year(2020),
            },
          ],
          u1,
        );
        await store.upsertRelations(
          [{ subject: acme!.id, predicate: 'based_in', object: { name: 'Oslo', type: 'city' }, validFrom: year(2020) }],
          shared,
        );
        assert.deepEqual(
          (await store.findEntities('acme', { scope: u1 })).map((e) => e.id),
          [acme!.id],
          'tenant-shared is visible to u1',
        );
        assert.equal((await store.findEntities('falcon', { scope: u1 })).length, 1);
        assert.deepEqual(await store.findEntities('falcon', { scope: u2 }), []);
        assert.deepEqual(
          await store.findEntities('falcon', { scope: shared }),
          [],
          'a query without a user sees no private items',
        );
        assert.equal((await store.factsAbout(acme!.id, { scope: u1 })).length, 2);
        assert.deepEqual(
          (await store.factsAbout(acme!.id, { scope: u2 })).map((f) => f.predicate),
          ['based_in'],
        );
        assert.deepEqual((await store.neighbours(acme!.id, { scope: u2 })).entities.map((e) => e.name).sort(), [
          'Acme',
          'Oslo',
        ]);
        await assert.rejects(store.factsAbout(secret!.subjectId, { scope: u2 }), isInputInvalid);
        await assert.rejects(store.invalidate(secret!.id, { scope: u2 }), isInputInvalid);
        assert.deepEqual(await store.findEntities('acme', { scope: other }), []);
        assert.deepEqual(await store.count(other), { entities: 0, relations: 0 });
        await assert.rejects(store.factsAbout(acme!.id, { scope: other }), isInputInvalid);
        await assert.rejects(
          store.upsertRelations([{ subject: acme!.id, predicate: 'owns', value: true }], other),
          isInputInvalid,
        );
        const [mine] = await store.upsertEntities([{ name: 'Acme', type: 'company' }], other);
        assert.notEqual(mine!.id, acme!.id, 'resolution never crosses tenants');
      }),
    );

    it(
      'rejects bad input with input_invalid and writes nothing',
      withStore(async (store, scope) => {
        const [alice] = await store.upsertEntities([{ name: 'Alice', type: 'person' }], scope);
        const before = await store.count(scope);
        const fresh = { name: 'Zed', type: 'person' };
        const bad: Array<() => Promise<unknown>> = [
          () => store.upsertEntities([fresh, { name: ' ?! ', type: 'person' }], scope),
          () => store.upsertEntities([{ name: 'Bo', type: '' }], scope),
          () => store.upsertEntities([fresh], { tenant: 'has space' }),
          () => store.upsertEntities([fresh], {} as Scope),
          () => store.upsertRelations([{ subject: fresh, predicate: '  ', object: alice!.id }], scope),
          () =>
            store.upsertRelations(
              [{ subject: fresh, predicate: 'knows', object: alice!.id, validFrom: Number.NaN }],
              scope,
            ),
          () =>
            store.upsertRelations(
              [
                { subject: fresh, predicate: 'knows', object: alice!.id },
                { subject: fresh, predicate: 'knows', object: 'ent_missing' },
              ],
              scope,
            ),
          () => store.upsertRelations([{ subject: alice!.id, predicate: 'knows' }], scope),
          () => store.factsAbout('ent_missing', { scope }),
          () => store.factsAbout(alice!.id, { scope, asOf: Number.POSITIVE_INFINITY }),
          () => store.neighbours(alice!.id, { scope, hops: 5 }),
          () => store.findEntities('  ', { scope }),
          () => store.invalidate('rel_missing', { scope }),
        ];
        for (const [i, call] of bad.entries()) await assert.rejects(call(), isInputInvalid, `bad call ${i}`);
        assert.deepEqual(await store.count(scope), before);
      }),
    );
  });
}
