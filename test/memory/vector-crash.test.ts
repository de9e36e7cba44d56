import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openEmbeddedVectorStore } from '../../memory/vector/embedded-vector-store.js';
import { dimensions, vectorFor } from '../fixtures/vector-bulk-upsert.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs the bulk-upsert fixture and SIGKILLs it once it acknowledged `killAfter` items. */
function bulkUpsertUntilKilled(
  dir: string,
  killAfter: number,
): Promise<{ acked: number; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/vector-bulk-upsert.ts', dir], {
      cwd: root,
      env: { ...process.env },
    });
    let buffer = '';
    let acked = 0;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) acked = Math.max(acked, Number(line));
      if (acked >= killAfter) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (_code, signal) =>
      signal === 'SIGKILL' ? resolve({ acked, signal }) : reject(new Error(`fixture exited: ${stderr}`)),
    );
  });
}

describe('EmbeddedVectorStore after kill -9', () => {
  it('reopens with every acknowledged item in SQLite and an index rebuilt to match', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadre-vector-crash-'));
    try {
      const { acked, signal } = await bulkUpsertUntilKilled(dir, 2000);
      expect(signal).toBe('SIGKILL');
      expect(acked).toBeGreaterThanOrEqual(2000);

      const store = await openEmbeddedVectorStore({ path: dir, dimensions, embedder: 'fixture' });
      // The index saved at 1,000 items is behind the rows written after it.
      expect(store.repair).toBe('stale');
      const { indexed, rows } = store.stats();
      expect(indexed).toBe(rows);
      expect(await store.count()).toBe(rows);
      expect(rows).toBeGreaterThanOrEqual(acked);
      for (const n of [
        0,
        999,
        1000,
        acked - 1,
        ...Array.from({ length: 20 }, (_, i) => Math.floor((i * acked) / 20)),
      ]) {
        const hits = await store.query(vectorFor(n), { scope: { tenant: 'crash' }, k: 1, filter: { seq: n } });
        expect(hits.map((h) => h.id)).toEqual([`s${n}`]);
        expect(hits[0]!.score).toBeGreaterThan(0.999);
      }
      await store.close();

      const db = new Database(join(dir, 'vectors.db'), { readonly: true });
      const seqs = new Set((db.prepare('SELECT id FROM items').all() as { id: string }[]).map((r) => r.id));
      db.close();
      const missing = Array.from({ length: acked }, (_, n) => `s${n}`).filter((id) => !seqs.has(id));
      expect(missing).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
