import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCadreStore, ThreadStore } from '../../src/runtime/store/index.js';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'cadre-threads-')), 'cadre.db');
const base = { policy: 'enqueue' as const, contextTokens: 1000, metadata: {} };

describe('ThreadStore', () => {
  it('keeps threads, their messages in order and their summary across a reopen of the file', () => {
    const path = fresh();
    const store = openCadreStore({ path });
    const threads = new ThreadStore(store.db);
    const thread = threads.create({ ...base, ownerKey: 'k1', ownerUser: 'ann', team: 'demo', metadata: { a: 1 } });
    const asked = threads.append(thread.id, { role: 'user', text: 'hello', runId: 'run_1', status: 'started' });
    threads.append(thread.id, { role: 'assistant', text: 'hi', runId: 'run_1', status: 'completed' });
    threads.append(thread.id, { role: 'user', text: 'later', runId: 'run_2', status: 'queued' });
    threads.setStatus(thread.id, 3, 'rolled_back');
    threads.setSummary(thread.id, 'they greeted', { seq: 1, reply: true });
    store.close();

    const reopened = new ThreadStore(openCadreStore({ path }).db);
    expect(reopened.get(thread.id)).toMatchObject({
      ownerKey: 'k1',
      ownerUser: 'ann',
      team: 'demo',
      metadata: { a: 1 },
      summary: 'they greeted',
      folded: { seq: 1, reply: true },
    });
    expect(reopened.messages(thread.id).map((m) => [m.seq, m.role, m.text, m.runId, m.status])).toEqual([
      [1, 'user', 'hello', 'run_1', 'started'],
      [2, 'assistant', 'hi', 'run_1', 'completed'],
      [3, 'user', 'later', 'run_2', 'rolled_back'],
    ]);
    expect(reopened.messages(thread.id)[0]!.id).toBe(asked.id);
  });

  it('lists by key and user, newest first, and refuses a thread naming neither or both of team and agent', () => {
    const threads = new ThreadStore(openCadreStore({ path: fresh() }).db);
    // Apart by a few ms, so that newest first is one order.
    const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3);
    const a = threads.create({ ...base, ownerKey: 'k1', agent: 'echo' });
    pause();
    const b = threads.create({ ...base, ownerKey: 'k1', ownerUser: 'ann', agent: 'echo' });
    pause();
    const c = threads.create({ ...base, ownerKey: 'k2', agent: 'echo' });
    expect(threads.list({ key: 'k1' }).map((t) => t.id)).toEqual([b.id, a.id]);
    expect(threads.list({ key: 'k1', user: 'ann' }).map((t) => t.id)).toEqual([b.id]);
    expect(threads.list().map((t) => t.id)).toEqual([c.id, b.id, a.id]);
    expect(() => threads.create({ ...base, ownerKey: 'k1' })).toThrow(
      expect.objectContaining({ code: 'input_invalid' }),
    );
    expect(() => threads.create({ ...base, ownerKey: 'k1', team: 't', agent: 'a' })).toThrow(
      expect.objectContaining({ code: 'input_invalid' }),
    );
  });
});
