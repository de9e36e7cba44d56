import assert from 'node:assert/strict';
import type { ProceduralStore } from '../../memory/procedural-store.js';
import type { Scope } from '../../memory/scope.js';
import { CadreError } from '../core/index.js';
import { globalTestApi, type ConformanceTestApi } from './conformance-kit.js';

const isInputInvalid = (error: unknown) => CadreError.isInstance(error) && error.code === 'input_invalid';
const acme: Scope = { tenant: 'acme' };
const graph = {
  tasks: [
    { id: 'build', instruction: 'build it' },
    { id: 'ship', instruction: 'ship it', dependsOn: ['build'] },
  ],
};

/**
 * Defines the behaviour every ProceduralStore must show, in the style of the EpisodeStore suite.
 * `create` must return an empty store each time, with a deterministic embedder (the same text
 * always gives the same vector). Assertions use node:assert, so any runner with describe/it works.
 */
export function describeProceduralStoreConformance(
  name: string,
  create: () => Promise<ProceduralStore> | ProceduralStore,
  { describe, it }: ConformanceTestApi = globalTestApi('describeProceduralStoreConformance'),
): void {
  describe(`ProceduralStore conformance: ${name}`, () => {
    it('saves a plan and matches it for the same goal with its fields intact', async () => {
      const store = await create();
      const saved = await store.save({ goal: 'Deploy the web service', graph, scope: acme });
      const [found, ...rest] = await store.match('Deploy the web service', { scope: acme });
      assert.ok(found);
      assert.equal(rest.length, 0);
      assert.deepEqual(found.template, saved);
      assert.ok(found.similarity > 0.99, `similarity ${found.similarity}`);
      assert.deepEqual(saved.graph, graph);
      assert.deepEqual(saved.scope, acme);
      assert.equal(saved.successes, 1);
      assert.equal(saved.failures, 0);
      assert.equal(await store.count(), 1);
    });

    it('counts a success on the existing template when the same goal is saved again', async () => {
      const store = await create();
      const first = await store.save({ goal: 'Deploy the web service', graph, scope: acme });
      const again = await store.save({ goal: '  deploy the WEB service! ', graph: { other: true }, scope: acme });
      assert.equal(again.id, first.id);
      assert.equal(again.successes, 2);
      assert.equal(await store.count(), 1);
      assert.equal((await store.match('Deploy the web service', { scope: acme }))[0]?.template.successes, 2);
    });

    it('leaves out templates less similar than minSimilarity', async () => {
      const store = await create();
      await store.save({ goal: 'translate the quarterly report into French', graph, scope: acme });
      assert.deepEqual(await store.match('bake sourdough bread at home', { scope: acme }), []);
      const [near] = await store.match('translate the quarterly report into German', {
        scope: acme,
        minSimilarity: -1,
      });
      assert.ok(near && near.similarity < 1, 'a different goal is less than identical');
      const at = (min: number) =>
        store.match('translate the quarterly report into German', { scope: acme, minSimilarity: min });
      assert.equal((await at(near.similarity - 1e-6)).length, 1);
      assert.equal((await at(near.similarity + 1e-6)).length, 0);
    });

    it('puts the template with the better success rate first among equally similar ones', async () => {
      const store = await create();
      // Same goal in two scopes a user can both see: equally similar, apart only in how they fared.
      const mine = await store.save({ goal: 'migrate the database', graph, scope: { tenant: 'acme', user: 'ann' } });
      const shared = await store.save({ goal: 'migrate the database', graph, scope: acme });
      assert.notEqual(mine.id, shared.id);
      const ann = { tenant: 'acme', user: 'ann' };
      await store.recordOutcome(mine.id, 'failure', ann); // 1 of 2: rate 2/4
      await store.recordOutcome(shared.id, 'success', ann); // 2 of 2: rate 3/4
      assert.deepEqual(
        (await store.match('migrate the database', { scope: ann })).map((m) => m.template.id),
        [shared.id, mine.id],
      );
      for (let i = 0; i < 3; i++) await store.recordOutcome(shared.id, 'failure', ann); // 2 of 5: rate 3/7
      assert.deepEqual(
        (await store.match('migrate the database', { scope: ann })).map((m) => m.template.id),
        [mine.id, shared.id],
      );
      assert.equal((await store.match('migrate the database', { scope: ann, k: 1 })).length, 1);
    });

    it('records outcomes on a visible template and refuses an unknown or invisible one', async () => {
      const store = await create();
      const saved = await store.save({ goal: 'rotate the api keys', graph, scope: acme });
      await store.recordOutcome(saved.id, 'failure', acme);
      await store.recordOutcome(saved.id, 'success', { tenant: 'acme', user: 'bob' });
      const [found] = await store.match('rotate the api keys', { scope: acme });
      assert.ok(found);
      assert.equal(found.template.successes, 2);
      assert.equal(found.template.failures, 1);
      assert.ok(found.template.lastUsedAt >= saved.lastUsedAt);
      await assert.rejects(store.recordOutcome('no-such-plan', 'success', acme), isInputInvalid);
      await assert.rejects(store.recordOutcome(saved.id, 'success', { tenant: 'globex' }), isInputInvalid);
    });

    it('matches and counts only templates visible in the scope asked for', async () => {
      const store = await create();
      await store.save({ goal: 'plan the team offsite', graph, scope: { tenant: 'acme', user: 'ann' } });
      const ids = async (scope: Scope) => (await store.match('plan the team offsite', { scope })).length;
      assert.equal(await ids({ tenant: 'acme', user: 'ann' }), 1);
      assert.equal(await ids({ tenant: 'acme', user: 'bob' }), 0);
      assert.equal(await ids(acme), 0);
      assert.equal(await ids({ tenant: 'globex', user: 'ann' }), 0);
      assert.equal(await store.count({ tenant: 'acme', user: 'ann' }), 1);
      assert.equal(await store.count(acme), 0);
      assert.equal(await store.count(), 1);
      // Bob's save of the same goal cannot see Ann's template, so it becomes his own.
      await store.save({ goal: 'plan the team offsite', graph, scope: { tenant: 'acme', user: 'bob' } });
      assert.equal(await store.count(), 2);
    });

    it('rejects a bad scope as input_invalid and stores nothing', async () => {
      const store = await create();
      await assert.rejects(store.save({ goal: 'write the newsletter', graph, scope: { tenant: '' } }), isInputInvalid);
      await assert.rejects(
        store.save({ goal: 'write the newsletter', graph, scope: { team: 'x' } as unknown as Scope }),
        isInputInvalid,
      );
      await assert.rejects(store.match('write the newsletter', { scope: { tenant: 'a b' } }), isInputInvalid);
      await assert.rejects(store.count({ tenant: 'acme', user: '' }), isInputInvalid);
      assert.equal(await store.count(), 0);
    });
  });
}
