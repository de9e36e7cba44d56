import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { InMemoryStepJournal, InMemoryToolCallJournal } from 'cadre';
import { stepJournalConformance, toolCallJournalConformance } from 'cadre/testing';
import { openCadreStore, type CadreStore } from '../../src/runtime/store/index.js';

const testApi = { describe, it };

stepJournalConformance({ name: 'InMemoryStepJournal', create: () => new InMemoryStepJournal(), testApi });
toolCallJournalConformance({ name: 'InMemoryToolCallJournal', create: () => new InMemoryToolCallJournal(), testApi });

// Each SQLite test gets a file store of its own in a fresh directory, removed after the store closes.
const opened = new Map<object, { store: CadreStore; dir: string }>();
const openStore = () => {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-journals-'));
  return { store: openCadreStore({ path: join(dir, 'cadre.db') }), dir };
};
const closeStore = (journal: object) => {
  const entry = opened.get(journal);
  opened.delete(journal);
  if (!entry) return;
  entry.store.close();
  rmSync(entry.dir, { recursive: true, force: true });
};

stepJournalConformance({
  name: 'SqliteStepJournal',
  create: () => {
    const entry = openStore();
    opened.set(entry.store.steps, entry);
    return entry.store.steps;
  },
  destroy: closeStore,
  testApi,
});

toolCallJournalConformance({
  name: 'SqliteToolCallJournal',
  create: () => {
    const entry = openStore();
    opened.set(entry.store.toolCalls, entry);
    return entry.store.toolCalls;
  },
  destroy: closeStore,
  testApi,
});
