import { describe, expect, it } from 'vitest';
import { describeProceduralStoreConformance } from 'cadre/testing';
import { InMemoryProceduralStore } from '../../memory/in-memory-procedural-store.js';
import { SqliteProceduralStore } from '../../memory/sqlite-procedural-store.js';
import { HashingEmbedder } from '../../src/models/hashing-embedder.js';
import { memoryDb } from '../fixtures/sqlite-memory.js';

const embedder = () => new HashingEmbedder({ dimensions: 1024 });

describeProceduralStoreConformance(
  'InMemoryProceduralStore',
  () => new InMemoryProceduralStore({ embedder: embedder() }),
  { describe, it },
);
describeProceduralStoreConformance(
  'SqliteProceduralStore',
  () => new SqliteProceduralStore(memoryDb(), { embedder: embedder() }),
  { describe, it },
);

describe('SqliteProceduralStore', () => {
  it('keeps templates and their outcomes across reopening the database', async () => {
    const db = memoryDb();
    const first = new SqliteProceduralStore(db, { embedder: embedder() });
    const saved = await first.save({
      goal: 'publish the release notes',
      graph: { tasks: [] },
      scope: { tenant: 'acme' },
    });
    await first.recordOutcome(saved.id, 'failure', { tenant: 'acme' });
    const again = new SqliteProceduralStore(db, { embedder: embedder() });
    const [found] = await again.match('publish the release notes', { scope: { tenant: 'acme' } });
    expect(found?.template).toMatchObject({ id: saved.id, successes: 1, failures: 1, graph: { tasks: [] } });
  });

  it('does not match templates embedded by another embedder', async () => {
    const db = memoryDb();
    await new SqliteProceduralStore(db, { embedder: embedder() }).save({
      goal: 'publish the release notes',
      graph: {},
      scope: { tenant: 'acme' },
    });
    const other = new SqliteProceduralStore(db, { embedder: new HashingEmbedder({ dimensions: 64 }) });
    expect(await other.match('publish the release notes', { scope: { tenant: 'acme' } })).toEqual([]);
  });
});
