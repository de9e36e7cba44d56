import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { RunStore } from 'cadre';
import { runStoreConformance } from 'cadre/testing';
import { openCadreStore, sqliteRunStore } from '../../src/runtime/store/index.js';

// Each test gets a file database of its own in a fresh directory, removed after the store closes.
const dirs = new Map<RunStore, string>();

runStoreConformance({
  name: 'SQLite run store',
  create: () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadre-run-store-'));
    const store = sqliteRunStore(openCadreStore({ path: join(dir, 'cadre.db') }));
    dirs.set(store, dir);
    return store;
  },
  destroy: async (store) => {
    await store.close();
    const dir = dirs.get(store);
    dirs.delete(store);
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
  testApi: { describe, it },
});
