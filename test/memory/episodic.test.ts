import { describe, expect, it } from 'vitest';
import { InMemoryEpisodeStore, SqliteEpisodeStore, type Episode } from 'cadre/memory';
import { HashingEmbedder } from '../../src/models/hashing-embedder.js';
import { describeEpisodeStoreConformance } from 'cadre/testing';
import { memoryDb } from '../fixtures/sqlite-memory.js';

const embedder = () => new HashingEmbedder({ dimensions: 1024 });

describeEpisodeStoreConformance('InMemoryEpisodeStore', () => new InMemoryEpisodeStore(), { describe, it });
describeEpisodeStoreConformance(
  'InMemoryEpisodeStore with an embedder',
  () => new InMemoryEpisodeStore({ embedder: embedder() }),
  { describe, it },
);
describeEpisodeStoreConformance('SqliteEpisodeStore', () => new SqliteEpisodeStore(memoryDb()), { describe, it });
describeEpisodeStoreConformance(
  'SqliteEpisodeStore with an embedder',
  () => new SqliteEpisodeStore(memoryDb(), { embedder: embedder() }),
  { describe, it },
);

const episode = (over: Partial<Episode> & Pick<Episode, 'id' | 'task'>): Episode => ({
  runId: 'r',
  taskId: 't',
  outcome: 'failure',
  importance: 0.5,
  createdAt: 1,
  ...over,
});

describe('SqliteEpisodeStore on an existing database', () => {
  it('opens a table from before scopes and embeddings, keeps its rows and adds new ones', async () => {
    const db = memoryDb();
    db.exec(`CREATE TABLE episodes (
      id TEXT PRIMARY KEY, run_id TEXT NOT NULL, task_id TEXT NOT NULL, task TEXT NOT NULL,
      outcome TEXT NOT NULL, lesson TEXT, importance REAL NOT NULL, created_at INTEGER NOT NULL);
      INSERT INTO episodes VALUES ('old', 'r0', 't0', 'fetch the weather', 'failure', 'use metric units', 0.7, 5);`);
    const store = new SqliteEpisodeStore(db, { embedder: embedder() });
    expect(await store.count()).toBe(1);
    // The old row has no embedding, so it is ranked by word overlap and still found.
    expect(await store.recall('fetch the weather', { lessonsOnly: true })).toEqual([
      {
        id: 'old',
        runId: 'r0',
        taskId: 't0',
        task: 'fetch the weather',
        outcome: 'failure',
        lesson: 'use metric units',
        importance: 0.7,
        createdAt: 5,
      },
    ]);
    await store.add(episode({ id: 'new', task: 'fetch the weather forecast', scope: { tenant: 'acme' } }));
    expect((await store.recall('fetch the weather', { scope: { tenant: 'acme' } })).map((e) => e.id)).toEqual(['new']);
    // Opening again does not try to add the columns twice.
    expect(await new SqliteEpisodeStore(db).count()).toBe(2);
  });

  it('stores embeddings as Float32 blobs and ranks with them', async () => {
    const db = memoryDb();
    const store = new SqliteEpisodeStore(db, { embedder: embedder() });
    await store.add(episode({ id: 'a', task: 'summarise the meeting notes' }));
    const row = db
      .prepare<[], { embedding: Buffer; embedder: string }>('SELECT embedding, embedder FROM episodes')
      .get()!;
    expect(row.embedding.byteLength).toBe(1024 * 4);
    expect(row.embedder).toBe('hashing-1024');
    expect((await store.recall('summarise meeting notes'))[0]?.id).toBe('a');
  });
});

describe('InMemoryEpisodeStore with an embedder', () => {
  it('rejects an embedding of the wrong size as input_invalid', async () => {
    const store = new InMemoryEpisodeStore({ embedder: embedder() });
    await expect(store.add(episode({ id: 'x', task: 'sort the mail', embedding: [1, 0, 0] }))).rejects.toMatchObject({
      code: 'input_invalid',
    });
    expect(await store.count()).toBe(0);
  });

  it('ranks by the embedding given with an episode instead of its words', async () => {
    const e = embedder();
    const store = new InMemoryEpisodeStore({ embedder: e });
    const [vector] = await e.embed(['water the garden plants']);
    await store.add(episode({ id: 'given', task: 'unrelated wording', embedding: vector! }));
    expect((await store.recall('water the garden plants'))[0]?.id).toBe('given');
  });
});
