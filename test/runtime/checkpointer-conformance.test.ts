import { describe } from 'vitest';
import { validate } from '@langchain/langgraph-checkpoint-validation';
import type { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { openCadreStore, type CadreStore } from '../../src/runtime/store/index.js';

// LangGraph's checkpointer conformance suite, run against the SqliteSaver that a cadre store wires
// up on its own database (with cadre's tables and pragmas in place). Each validation set gets a
// fresh in-memory store, closed again when the set is done.
//
// The suite keys its known-limitation skips by checkpointer name. The store's checkpointer *is*
// @langchain/langgraph-checkpoint-sqlite's SqliteSaver, so it is validated under that package's
// name: the one test the suite skips for it ("should only store channel_values that have changed",
// because SqliteSaver stores whole checkpoints, not per-channel deltas) is skipped here too.
const stores = new Map<SqliteSaver, CadreStore>();

// That the store wires a SqliteSaver at all is cadre's own test, in store.test.ts; this file holds
// only the upstream suite, which vitest.config.ts reports as a project of its own.
describe('cadre-sqlite', () => {
  validate<SqliteSaver>({
    checkpointerName: '@langchain/langgraph-checkpoint-sqlite',
    createCheckpointer: async () => {
      const store = openCadreStore({ path: ':memory:' });
      const checkpointer = await store.checkpointer();
      stores.set(checkpointer, store);
      return checkpointer;
    },
    destroyCheckpointer: (checkpointer) => {
      stores.get(checkpointer)?.close();
      stores.delete(checkpointer);
    },
  });
});
