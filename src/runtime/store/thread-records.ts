import type { ThreadRecords } from '../../core/index.js';
import type { ThreadStore } from './thread-store.js';

export type { NewThread, NewThreadMessage, ThreadFilter, ThreadRecords } from '../../core/index.js';

/**
 * The SQLite ThreadStore behind the {@link ThreadRecords} interface: each call runs at once, its
 * error a rejection. `close` does nothing: the database file is shared with the rest of the store.
 */
export function sqliteThreadRecords(store: ThreadStore): ThreadRecords {
  return {
    create: async (input) => store.create(input),
    get: async (id) => store.get(id),
    list: async (filter) => store.list(filter),
    append: async (threadId, message) => store.append(threadId, message),
    setStatus: async (threadId, seq, status) => store.setStatus(threadId, seq, status),
    claim: async (threadId, seq) => store.claim(threadId, seq),
    messages: async (threadId) => store.messages(threadId),
    setSummary: async (threadId, summary, folded) => store.setSummary(threadId, summary, folded),
    unsettled: async () => store.unsettled(),
    close: async () => undefined,
  };
}
