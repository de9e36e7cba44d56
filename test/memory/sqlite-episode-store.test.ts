import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteEpisodeStore } from 'cadre/memory';

// The EpisodeStore conformance suite runs for both stores in episodic.test.ts.
describe('SqliteEpisodeStore', () => {
  it('keeps episodes across closing and reopening a database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadre-episodes-'));
    try {
      const file = join(dir, 'memory.db');
      const first = new Database(file);
      await new SqliteEpisodeStore(first).add({
        id: 'e1',
        runId: 'r',
        taskId: 't',
        task: 'fetch the weather',
        outcome: 'failure',
        lesson: 'use metric units',
        importance: 0.7,
        createdAt: 5,
      });
      first.close();
      const second = new Database(file);
      const store = new SqliteEpisodeStore(second);
      expect(await store.count()).toBe(1);
      expect((await store.recall('weather today', { lessonsOnly: true }))[0]?.lesson).toBe('use metric units');
      second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
