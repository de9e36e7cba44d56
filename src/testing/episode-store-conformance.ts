import assert from 'node:assert/strict';
import type { Episode, EpisodeStore } from '../../memory/index.js';
import { CadreError } from '../core/index.js';
import { globalTestApi, type ConformanceTestApi } from './conformance-kit.js';

export type { ConformanceTestApi } from './conformance-kit.js';

let seq = 0;
const day = 24 * 60 * 60 * 1000;
const isInputInvalid = (error: unknown) => CadreError.isInstance(error) && error.code === 'input_invalid';
const episode = (over: Partial<Episode> & Pick<Episode, 'task'>): Episode => ({
  id: `ep${++seq}`,
  runId: 'run_c',
  taskId: 't',
  outcome: 'failure',
  importance: 0.5,
  createdAt: 1_000 + seq,
  ...over,
});

/**
 * Defines the behaviour every EpisodeStore must show as a vitest `describe` block, so each
 * implementation runs the same checks. `create` must return an empty store each time. Assertions
 * use node:assert, so any runner with describe/it works. A store with an embedder passes only if the
 * embedder is lexical (texts sharing no word are orthogonal), as hashing embedders are.
 */
export function describeEpisodeStoreConformance(
  name: string,
  create: () => Promise<EpisodeStore> | EpisodeStore,
  { describe, it }: ConformanceTestApi = globalTestApi('describeEpisodeStoreConformance'),
): void {
  describe(`EpisodeStore conformance: ${name}`, () => {
    it('adds episodes and counts them', async () => {
      const store = await create();
      assert.equal(await store.count(), 0);
      await store.add(episode({ task: 'write a parser' }));
      await store.add(episode({ task: 'write a lexer', lesson: 'test edge cases' }));
      assert.equal(await store.count(), 2);
    });

    it('recalls the most similar episode first, with its fields intact', async () => {
      const store = await create();
      const close = episode({
        task: 'summarise the quarterly sales report',
        lesson: 'cite figures',
        outcome: 'success',
      });
      await store.add(episode({ task: 'summarise a poem' }));
      await store.add(close);
      await store.add(episode({ task: 'sales of bicycles' }));
      const found = await store.recall('summarise the sales report');
      assert.deepEqual(found[0], close);
      assert.equal(found.length, 3);
    });

    it('returns only episodes with a lesson when lessonsOnly is set', async () => {
      const store = await create();
      await store.add(episode({ task: 'deploy the web app' }));
      await store.add(episode({ task: 'deploy the web app again', lesson: 'run migrations first' }));
      const found = await store.recall('deploy the web app', { lessonsOnly: true });
      assert.deepEqual(
        found.map((e) => e.lesson),
        ['run migrations first'],
      );
    });

    it('returns at most k episodes', async () => {
      const store = await create();
      for (let i = 0; i < 5; i++) await store.add(episode({ task: `translate document ${i}` }));
      assert.equal((await store.recall('translate document', { k: 2 })).length, 2);
      assert.equal((await store.recall('translate document')).length, 3);
    });

    it('returns nothing when no episode shares a word with the task', async () => {
      const store = await create();
      await store.add(episode({ task: 'bake bread', lesson: 'preheat' }));
      assert.deepEqual(await store.recall('compile kernel'), []);
    });

    it('ranks the more important of two equally similar episodes first', async () => {
      const store = await create();
      // The less important one is newer, so only importance can put the other first.
      await store.add(episode({ id: 'important', task: 'plan a trip', importance: 0.9, createdAt: 1 }));
      await store.add(episode({ id: 'minor', task: 'plan a trip', importance: 0.1, createdAt: 2 }));
      assert.deepEqual(
        (await store.recall('plan a trip')).map((e) => e.id),
        ['important', 'minor'],
      );
    });
    it('recalls only episodes visible in the scope asked for', async () => {
      const store = await create();
      await store.add(episode({ id: 'mine', task: 'review the contract', scope: { tenant: 'acme', user: 'ann' } }));
      await store.add(episode({ id: 'shared', task: 'review the contract', scope: { tenant: 'acme' } }));
      await store.add(episode({ id: 'theirs', task: 'review the contract', scope: { tenant: 'acme', user: 'bob' } }));
      await store.add(episode({ id: 'other', task: 'review the contract', scope: { tenant: 'globex' } }));
      await store.add(episode({ id: 'default', task: 'review the contract' }));
      const ids = async (scope?: Episode['scope']) =>
        (await store.recall('review the contract', { k: 10, ...(scope ? { scope } : {}) })).map((e) => e.id).sort();
      assert.deepEqual(await ids({ tenant: 'acme', user: 'ann' }), ['mine', 'shared']);
      assert.deepEqual(await ids({ tenant: 'acme' }), ['shared']);
      assert.deepEqual(await ids({ tenant: 'globex', user: 'ann' }), ['other']);
      assert.deepEqual(await ids(), ['default']);
      const found = await store.recall('review the contract', { scope: { tenant: 'acme', user: 'ann' } });
      assert.deepEqual(found.find((e) => e.id === 'mine')?.scope, { tenant: 'acme', user: 'ann' });
    });

    it('ranks the newer of two equally similar and important episodes first', async () => {
      const store = await create();
      const now = 100 * day;
      await store.add(episode({ id: 'old', task: 'index the archive', importance: 0.5, createdAt: now - 5 * day }));
      await store.add(episode({ id: 'new', task: 'index the archive', importance: 0.5, createdAt: now - day }));
      await store.add(episode({ id: 'older', task: 'index the archive', importance: 0.5, createdAt: now - 9 * day }));
      assert.deepEqual(
        (await store.recall('index the archive', { now })).map((e) => e.id),
        ['new', 'old', 'older'],
      );
    });

    it('lets the weights decide between an important old episode and a fresh minor one', async () => {
      const store = await create();
      const now = 100 * day;
      await store.add(
        episode({ id: 'important-old', task: 'tune the database', importance: 1, createdAt: now - 30 * day }),
      );
      await store.add(episode({ id: 'minor-fresh', task: 'tune the database', importance: 0, createdAt: now }));
      const order = async (weights: { recency: number; importance: number }) =>
        (await store.recall('tune the database', { now, weights })).map((e) => e.id);
      assert.deepEqual(await order({ recency: 1, importance: 0 }), ['minor-fresh', 'important-old']);
      assert.deepEqual(await order({ recency: 0, importance: 1 }), ['important-old', 'minor-fresh']);
    });

    it('rejects a bad scope as input_invalid and stores nothing', async () => {
      const store = await create();
      await store.add(episode({ task: 'send the invoice' }));
      await assert.rejects(store.add(episode({ task: 'send the invoice', scope: { tenant: '' } })), isInputInvalid);
      await assert.rejects(
        store.add(
          episode({ task: 'send the invoice', scope: { tenant: 'a', team: 'x' } as unknown as Episode['scope'] }),
        ),
        isInputInvalid,
      );
      await assert.rejects(store.recall('send the invoice', { scope: { tenant: 'a b' } }), isInputInvalid);
      assert.equal(await store.count(), 1);
    });

    it('keeps one episode when the same id is added twice', async () => {
      const store = await create();
      await store.add(episode({ id: 'twice', task: 'label the images', lesson: 'first' }));
      await store.add(episode({ id: 'twice', task: 'label the images', lesson: 'second' }));
      assert.equal(await store.count(), 1);
      assert.deepEqual(
        (await store.recall('label the images', { k: 5 })).map((e) => e.lesson),
        ['second'],
      );
    });

    it('returns the trajectory with the episode', async () => {
      const store = await create();
      await store.add(episode({ task: 'rename the files', trajectory: 'listed the folder; renamed 12 files' }));
      assert.equal((await store.recall('rename the files'))[0]?.trajectory, 'listed the folder; renamed 12 files');
    });
  });
}
