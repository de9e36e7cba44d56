import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { RunStore, TaskOutcomeStore } from 'cadre';
import { runFenceConformance, runStoreConformance, taskOutcomeStoreConformance } from 'cadre/testing';
import { openCadreStore, sqliteRunStore } from '../../src/runtime/store/index.js';

// Each test gets a file database of its own in a fresh directory, removed after the store closes.
const dirs = new Map<RunStore, string>();
const openStore = () => {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-run-store-'));
  const store = sqliteRunStore(openCadreStore({ path: join(dir, 'cadre.db') }));
  dirs.set(store, dir);
  return store;
};
const closeStore = async (store: RunStore) => {
  await store.close();
  const dir = dirs.get(store);
  dirs.delete(store);
  if (dir) rmSync(dir, { recursive: true, force: true });
};

runStoreConformance({
  name: 'SQLite run store',
  create: openStore,
  destroy: closeStore,
  testApi: { describe, it },
});

runFenceConformance({
  name: 'SQLite run store',
  create: openStore,
  destroy: closeStore,
  testApi: { describe, it },
});

// The task outcomes of a store of their own, which is closed (and removed) with them.
const ofOutcomes = new Map<TaskOutcomeStore, RunStore>();

taskOutcomeStoreConformance({
  name: 'SQLite task outcomes',
  create: () => {
    const store = openStore();
    ofOutcomes.set(store.outcomes, store);
    return store.outcomes;
  },
  destroy: async (outcomes) => {
    const store = ofOutcomes.get(outcomes);
    ofOutcomes.delete(outcomes);
    if (store) await closeStore(store);
  },
  testApi: { describe, it },
});
