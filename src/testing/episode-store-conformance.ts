import assert from 'node:assert/strict';
import type { Episode, EpisodeStore } from '../../memory/index.js';

/**
 * The two test functions the suite needs. Passed in (or taken from globals) rather than imported
 * from vitest: vitest is a dev dependency, and the CLI loads this package at run time.
 */
export interface ConformanceTestApi {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>): unknown;
}

function globalTestApi(): ConformanceTestApi {
  const g = globalThis as Partial<ConformanceTestApi>;
  if (!g.describe || !g.it) throw new Error('describeEpisodeStoreConformance: pass { describe, it } or enable test globals');
  return { describe: g.describe, it: g.it };
}

let seq = 0;
const episode = (over: Partial<Episode> & Pick<Episode, 'task'>): Episode => ({
  id: `ep${++seq}`, runId: 'run_c', taskId: 't', outcome: 'failure', importance: 0.5, createdAt: 1_000 + seq, ...over,
});

/**
 * Defines the behaviour every EpisodeStore must show as a vitest `describe` block, so each
 * implementation runs the same checks. `create` must return an empty store each time. Assertions
 * use node:assert, so any runner with describe/it works.
 */
export function describeEpisodeStoreConformance(
  name: string,
  create: () => Promise<EpisodeStore> | EpisodeStore,
  { describe, it }: ConformanceTestApi = globalTestApi(),
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
      const close = episode({ task: 'summarise the quarterly sales report', lesson: 'cite figures', outcome: 'success' });
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
      assert.deepEqual(found.map((e) => e.lesson), ['run migrations first']);
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
      assert.deepEqual((await store.recall('plan a trip')).map((e) => e.id), ['important', 'minor']);
    });
  });
}
