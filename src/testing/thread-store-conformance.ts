import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type NewThread, type ThreadMessage, type ThreadRecord, type ThreadRecords } from '../core/index.js';
import {
  assertWithin,
  pause,
  hasCode,
  freshEachTest,
  globalTestApi,
  type ConformanceOptions,
} from './conformance-kit.js';

/** What {@link threadStoreConformance} runs against: a ThreadRecords made afresh for each test. */
export type ThreadStoreConformanceOptions = ConformanceOptions<ThreadRecords>;

const fresh = (prefix: string) => `${prefix}-${randomUUID()}`;

/** The ids ThreadStore makes (createId): the prefix, nine base-36 time digits, twelve hex digits. */
const threadId = /^thread_[0-9a-z]{9}[0-9a-f]{12}$/;
const messageId = /^msg_[0-9a-z]{9}[0-9a-f]{12}$/;

/**
 * Text a store must keep exactly: quotes, backslashes, control characters, emoji, CJK, RTL. No NUL:
 * PostgreSQL's text refuses it.
 */
const awkward =
  'He said "hi" and \'bye\'; C:\\path\\to\\file; line one\nline two\r\n\ttabbed; ' +
  '{"looks":"like json"} </script> 🚀👩‍💻 日本語のテキスト 中文 한국어 العربية e\u0301 \u2028\u2029 \u0001 \uFFFD';

/** Checks that threads are ordered newest first: createdAt, then id, never rising. */
function assertNewestFirst(threads: readonly ThreadRecord[]): void {
  for (let i = 1; i < threads.length; i++) {
    const [newer, older] = [threads[i - 1]!, threads[i]!];
    assert.ok(
      newer.createdAt > older.createdAt || (newer.createdAt === older.createdAt && newer.id > older.id),
      `thread ${older.id} (created ${older.createdAt}) is listed after ${newer.id} (created ${newer.createdAt})`,
    );
  }
}

const ids = (records: ReadonlyArray<{ id: string }>) => records.map((record) => record.id);
const base = { policy: 'enqueue', contextTokens: 4000, metadata: {} } as const;

/**
 * Defines the behaviour every ThreadRecords must show (the SQLite ThreadStore and PostgreSQL) as a
 * `describe` block: threads created (naming a team or an agent), read and listed newest first by
 * owner, before a time and up to a limit; messages appended with the thread's next seq, also when
 * many are appended at once; statuses set and a queued message claimed exactly once of many
 * claims; the rolling summary kept; unsettled threads found; and unknown threads met as ThreadStore
 * meets them. Times are the store's clock and are checked against the clock around each call.
 */
export function threadStoreConformance(options: ThreadStoreConformanceOptions): void {
  const { describe, it } = options.testApi ?? globalTestApi('threadStoreConformance');

  const test = freshEachTest(options, it);

  /** Reads a thread the test created, failing the test when it is gone. */
  const must = async (store: ThreadRecords, id: string): Promise<ThreadRecord> => {
    const record = await store.get(id);
    assert.ok(record, `thread ${id} is gone`);
    return record;
  };

  /** Creates threads one after another, each with a later createdAt than the one before. */
  const createInTurn = async (store: ThreadRecords, inputs: readonly NewThread[]) => {
    const records: ThreadRecord[] = [];
    for (const [i, input] of inputs.entries()) {
      if (i > 0) await pause();
      records.push(await store.create(input));
    }
    for (let i = 1; i < records.length; i++)
      assert.ok(records[i]!.createdAt > records[i - 1]!.createdAt, 'threads created in turn have rising createdAt');
    return records;
  };

  /** A thread of its own key, for a test about its messages. */
  const thread = (store: ThreadRecords) => store.create({ ...base, ownerKey: fresh('key'), agent: 'echo' });

  describe(`ThreadStore conformance: ${options.name}`, () => {
    test('creates a thread as given, with a thread_ id, stamped now, without summary or folded, and reads it back', async (store) => {
      const ownerKey = fresh('key');
      const metadata = {
        title: awkward,
        tags: ['support', 'écriture', '日本語'],
        numbers: [0, -7, 3.141592653589793, 2 ** 53 - 1, 1e-7],
        flags: { on: true, off: false, none: null },
        nested: { a: { b: [{ c: 'deep' }] } },
        empty: { object: {}, array: [], text: '' },
      };
      const before = Date.now();
      const created = await store.create({
        ownerKey,
        ownerUser: 'user-ü-🚀',
        team: 'research',
        policy: 'interrupt',
        contextTokens: 12_000,
        metadata,
      });
      const after = Date.now();
      assert.match(created.id, threadId);
      assert.equal(created.ownerKey, ownerKey);
      assert.equal(created.ownerUser, 'user-ü-🚀');
      assert.equal(created.team, 'research');
      assert.equal('agent' in created, false, 'a thread of a team has no agent key');
      assert.equal(created.policy, 'interrupt');
      assert.equal(created.contextTokens, 12_000);
      assert.deepEqual(created.metadata, metadata);
      assert.equal('summary' in created, false, 'a new thread has no summary key');
      assert.equal('folded' in created, false, 'a new thread has no folded key');
      assertWithin(created.createdAt, before, after, 'createdAt');
      assert.equal(created.updatedAt, created.createdAt);
      assert.deepEqual(await must(store, created.id), created, 'get reads the thread as create gave it');

      const bare = await store.create({ ownerKey, agent: 'echo', policy: 'reject', contextTokens: 0, metadata: {} });
      assert.match(bare.id, threadId);
      assert.notEqual(bare.id, created.id);
      assert.equal(bare.agent, 'echo');
      assert.equal('team' in bare, false, 'a thread of an agent has no team key');
      assert.equal('ownerUser' in bare, false, 'a thread created without a user has no ownerUser key');
      assert.deepEqual(bare.metadata, {});
      assert.equal(bare.contextTokens, 0);
      assert.deepEqual(await must(store, bare.id), bare);

      for (const policy of ['enqueue', 'rollback'] as const) {
        const made = await store.create({ ...base, ownerKey, agent: 'echo', policy });
        assert.equal((await must(store, made.id)).policy, policy);
      }
    });

    test('refuses a thread naming neither or both of team and agent (input_invalid) and stores nothing', async (store) => {
      const ownerKey = fresh('key');
      await assert.rejects(store.create({ ...base, ownerKey }), hasCode('input_invalid'));
      await assert.rejects(
        store.create({ ...base, ownerKey, team: 'research', agent: 'echo' }),
        hasCode('input_invalid'),
      );
      assert.deepEqual(await store.list({ key: ownerKey }), []);
    });

    test('reads an unknown thread as undefined', async (store) => {
      assert.equal(await store.get(fresh('thread')), undefined);
      assert.equal(await store.get(''), undefined);
    });

    test('lists threads newest first by key, user, key and user, as get reads them', async (store) => {
      const key = fresh('key');
      const otherKey = fresh('key');
      const [u1, u2] = [fresh('user'), fresh('user')];
      const [keyOnly, r1, r2, r3, foreign] = await createInTurn(store, [
        { ...base, ownerKey: key, agent: 'echo' },
        { ...base, ownerKey: key, ownerUser: u1, team: 'research' },
        { ...base, ownerKey: key, ownerUser: u2, agent: 'echo' },
        { ...base, ownerKey: key, ownerUser: u1, agent: 'echo', metadata: { n: 3 } },
        { ...base, ownerKey: otherKey, ownerUser: u1, agent: 'echo' },
      ]);

      const byKey = await store.list({ key });
      assert.deepEqual(byKey, [r3, r2, r1, keyOnly], 'by key: its threads only, newest first, as created');
      assert.deepEqual(ids(await store.list({ key: otherKey })), [foreign!.id]);
      assert.deepEqual(await store.list({ key: fresh('key') }), [], 'an unknown key matches nothing');
      assert.deepEqual(ids(await store.list({ key, user: u1 })), ids([r3!, r1!]), 'by key and user');
      assert.deepEqual(ids(await store.list({ key, user: u2 })), [r2!.id]);
      assert.deepEqual(ids(await store.list({ key: otherKey, user: u2 })), []);
      assert.deepEqual(
        ids(await store.list({ user: u1 })),
        ids([foreign!, r3!, r1!]),
        "by user alone: every key's threads of that user",
      );
      assert.deepEqual(await store.list({ user: fresh('user') }), []);

      const all = await store.list();
      assert.ok(all.length <= 50, `list() gave ${all.length} threads`);
      assertNewestFirst(all);
      assert.ok(all.length >= 5, 'list() without a key holds every key’s threads');
      assert.ok(all[0]!.createdAt >= foreign!.createdAt, 'list() starts with the newest thread');
      const everyKey = await store.list({ limit: 1000 });
      assertNewestFirst(everyKey);
      const listed = new Set(ids(everyKey));
      for (const made of [keyOnly!, r1!, r2!, r3!, foreign!])
        assert.ok(listed.has(made.id), `list() without a key holds ${made.id}`);
    });

    test('pages by before (strict) and limit, newest first', async (store) => {
      const key = fresh('key');
      const [a, b, c, d] = await createInTurn(
        store,
        [0, 1, 2, 3].map((n) => ({ ...base, ownerKey: key, agent: 'echo', metadata: { n } })),
      );
      assert.deepEqual(ids(await store.list({ key, limit: 2 })), ids([d!, c!]));
      assert.deepEqual(ids(await store.list({ key, limit: 1 })), [d!.id]);
      assert.deepEqual(await store.list({ key, limit: 0 }), [], 'limit 0 lists nothing');
      assert.deepEqual(
        ids(await store.list({ key, before: c!.createdAt })),
        ids([b!, a!]),
        'before is strict: a thread created at `before` is left out',
      );
      assert.deepEqual(ids(await store.list({ key, before: c!.createdAt, limit: 1 })), [b!.id]);
      assert.deepEqual(ids(await store.list({ key, before: d!.createdAt + 1 })), ids([d!, c!, b!, a!]));
      assert.deepEqual(await store.list({ key, before: a!.createdAt }), []);

      // Paging: each page starts before the oldest thread of the one before it.
      const pages: string[][] = [];
      let page = await store.list({ key, limit: 3 });
      while (page.length) {
        pages.push(ids(page));
        page = await store.list({ key, limit: 3, before: page.at(-1)!.createdAt });
      }
      assert.deepEqual(pages, [ids([d!, c!, b!]), [a!.id]]);

      const user = fresh('user');
      await createInTurn(store, [{ ...base, ownerKey: key, ownerUser: user, agent: 'echo' }]);
      assert.deepEqual(ids(await store.list({ key, user, before: d!.createdAt })), [], 'filters combine');
    });

    test('lists at most 50 threads by default, the newest', async (store) => {
      const key = fresh('key');
      const made: ThreadRecord[] = [];
      for (let i = 0; i < 53; i++) made.push(await store.create({ ...base, ownerKey: key, agent: 'echo' }));
      const newest = [...made].sort((x, y) => y.createdAt - x.createdAt || (y.id > x.id ? 1 : -1));
      const listed = await store.list({ key });
      assert.equal(listed.length, 50);
      assertNewestFirst(listed);
      assert.deepEqual(ids(listed), ids(newest.slice(0, 50)));
      assert.equal((await store.list({ key, limit: 100 })).length, 53);
    });

    test('appends messages numbered 1, 2, 3 in each thread, with msg_ ids, stamped now, and reads them in order', async (store) => {
      const one = await thread(store);
      const two = await thread(store);
      await pause();
      const appended: ThreadMessage[] = [];
      const append = async (threadId: string, message: Parameters<ThreadRecords['append']>[1]) => {
        const before = Date.now();
        const stored = await store.append(threadId, message);
        const after = Date.now();
        assertWithin(stored.createdAt, before, after, `message ${stored.seq} createdAt`);
        assert.match(stored.id, messageId);
        assert.equal(stored.threadId, threadId);
        assert.equal(stored.role, message.role);
        assert.equal(stored.text, message.text);
        assert.equal(stored.status, message.status);
        if (message.runId === undefined) assert.equal('runId' in stored, false, 'no runId key when none given');
        else assert.equal(stored.runId, message.runId);
        return stored;
      };
      appended.push(await append(one.id, { role: 'user', text: 'hello', runId: 'run_1', status: 'started' }));
      appended.push(await append(one.id, { role: 'assistant', text: 'hi there', runId: 'run_1', status: 'completed' }));
      const other = await append(two.id, { role: 'user', text: 'elsewhere', status: 'queued' });
      appended.push(await append(one.id, { role: 'user', text: 'and then?', status: 'queued' }));

      assert.deepEqual(
        appended.map((m) => m.seq),
        [1, 2, 3],
        "a thread's messages are numbered from 1, one after another",
      );
      assert.equal(other.seq, 1, "another thread's messages are numbered apart");
      assert.equal(new Set([...ids(appended), other.id]).size, 4, 'every message has an id of its own');
      assert.deepEqual(await store.messages(one.id), appended, 'messages reads them in seq order, as append gave them');
      assert.deepEqual(await store.messages(two.id), [other]);

      const touched = await must(store, one.id);
      assert.equal(touched.createdAt, one.createdAt, 'createdAt is kept');
      assert.equal(touched.updatedAt, appended.at(-1)!.createdAt, "updatedAt is the last message's createdAt");
      const { updatedAt: _one, ...restOne } = touched;
      const { updatedAt: _created, ...restCreated } = one;
      assert.deepEqual(restOne, restCreated, 'an append changes nothing of the thread but updatedAt');
      assert.equal((await must(store, two.id)).updatedAt, other.createdAt);
    });

    test('keeps message text exactly: awkward, empty and large', async (store) => {
      const { id } = await thread(store);
      const large = `${awkward}\n`.repeat(2000);
      const texts = [awkward, '', large, ' leading and trailing spaces '];
      for (const text of texts) await store.append(id, { role: 'user', text, status: 'queued' });
      assert.deepEqual(
        (await store.messages(id)).map((m) => m.text),
        texts,
      );
      await store.append(id, { role: 'assistant', text: 'ok', runId: awkward, status: awkward });
      const last = (await store.messages(id)).at(-1)!;
      assert.equal(last.runId, awkward);
      assert.equal(last.status, awkward, 'any status text is kept');
    });

    test('gives 20 appends to one thread at once distinct seqs 1 to 20, each read back as appended', async (store) => {
      const { id } = await thread(store);
      const appended = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.append(id, { role: i % 2 ? 'assistant' : 'user', text: `message ${i}`, status: 'queued' }),
        ),
      );
      assert.deepEqual(
        appended.map((m) => m.seq).sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      assert.equal(new Set(ids(appended)).size, 20);
      const read = await store.messages(id);
      assert.deepEqual(
        read.map((m) => m.seq),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      assert.deepEqual(
        read,
        [...appended].sort((x, y) => x.seq - y.seq),
      );
      const next = await store.append(id, { role: 'user', text: 'after', status: 'queued' });
      assert.equal(next.seq, 21);
    });

    test("keeps a run's reply once: appended again (even many at once), the first is returned and nothing is added", async (store) => {
      const { id } = await thread(store);
      await store.append(id, { role: 'user', text: 'hi', runId: 'run-1', status: 'started' });
      const replies = await Promise.all(
        [1, 2, 3, 4, 5].map((n) =>
          store.append(id, { role: 'assistant', text: `reply ${n}`, runId: 'run-1', status: 'completed' }),
        ),
      );
      const messages = await store.messages(id);
      assert.equal(messages.length, 2, 'one user message and one reply');
      const kept = messages[1]!;
      assert.equal(kept.role, 'assistant');
      assert.equal(kept.runId, 'run-1');
      for (const reply of replies) assert.deepEqual(reply, kept, 'every append returns the reply kept');
      // Another run's reply, and a user message naming the same run, are appended as usual.
      await store.append(id, { role: 'assistant', text: 'other', runId: 'run-2', status: 'completed' });
      await store.append(id, { role: 'user', text: 'again', runId: 'run-1', status: 'queued' });
      assert.deepEqual(
        (await store.messages(id)).map((m) => [m.seq, m.role, m.runId]),
        [
          [1, 'user', 'run-1'],
          [2, 'assistant', 'run-1'],
          [3, 'assistant', 'run-2'],
          [4, 'user', 'run-1'],
        ],
      );
    });

    test('sets the status of one message, leaving the others and the thread as they were', async (store) => {
      const made = await thread(store);
      const [first, second] = [
        await store.append(made.id, { role: 'user', text: 'one', runId: 'run_1', status: 'started' }),
        await store.append(made.id, { role: 'user', text: 'two', runId: 'run_2', status: 'queued' }),
      ];
      const touched = await must(store, made.id);
      await pause();
      await store.setStatus(made.id, 2, 'rolled_back');
      assert.deepEqual(await store.messages(made.id), [first, { ...second!, status: 'rolled_back' }]);
      await store.setStatus(made.id, 1, 'completed');
      await store.setStatus(made.id, 1, 'failed');
      assert.deepEqual(await store.messages(made.id), [
        { ...first!, status: 'failed' },
        { ...second!, status: 'rolled_back' },
      ]);
      await store.setStatus(made.id, 3, 'started');
      assert.equal((await store.messages(made.id)).length, 2, 'setting the status of a missing seq adds nothing');
      assert.deepEqual(await must(store, made.id), touched, 'a status change leaves the thread (and updatedAt) alone');
    });

    test('claims a queued message once, marking it started; never claims one not queued', async (store) => {
      const made = await thread(store);
      await store.append(made.id, { role: 'user', text: 'one', runId: 'run_1', status: 'queued' });
      await store.append(made.id, { role: 'user', text: 'two', status: 'failed' });
      await store.append(made.id, { role: 'user', text: 'three', status: 'started' });
      const touched = await must(store, made.id);

      assert.equal(await store.claim(made.id, 1), true);
      assert.equal(await store.claim(made.id, 1), false, 'a claimed message is claimed once');
      assert.equal(await store.claim(made.id, 2), false, 'a failed message is not claimed');
      assert.equal(await store.claim(made.id, 3), false, 'a started message is not claimed');
      assert.equal(await store.claim(made.id, 4), false, 'a missing seq is not claimed');
      assert.deepEqual(
        (await store.messages(made.id)).map((m) => [m.seq, m.status, m.runId]),
        [
          [1, 'started', 'run_1'],
          [2, 'failed', undefined],
          [3, 'started', undefined],
        ],
      );
      assert.deepEqual(await must(store, made.id), touched, 'a claim leaves the thread (and updatedAt) alone');

      await store.setStatus(made.id, 1, 'queued');
      assert.equal(await store.claim(made.id, 1), true, 'a message queued again can be claimed again');
    });

    test('of 10 claims of one queued message at once, exactly one is true', async (store) => {
      const made = await thread(store);
      await store.append(made.id, { role: 'user', text: 'started once', status: 'queued' });
      await store.append(made.id, { role: 'user', text: 'left queued', status: 'queued' });
      const claims = await Promise.all(Array.from({ length: 10 }, () => store.claim(made.id, 1)));
      assert.equal(claims.filter(Boolean).length, 1, `claims gave ${JSON.stringify(claims)}`);
      assert.deepEqual(
        (await store.messages(made.id)).map((m) => m.status),
        ['started', 'queued'],
      );
    });

    test('keeps the rolling summary and how far it reaches, moving updatedAt; undefined clears the summary', async (store) => {
      const made = await thread(store);
      const hello = await store.append(made.id, { role: 'user', text: 'hello', status: 'started' });
      const set = async (summary: string | undefined, folded: { seq: number; reply: boolean }) => {
        const previous = await must(store, made.id);
        await pause();
        const before = Date.now();
        await store.setSummary(made.id, summary, folded);
        const after = Date.now();
        const record = await must(store, made.id);
        assertWithin(record.updatedAt, before, after, 'updatedAt');
        assert.equal(record.createdAt, made.createdAt, 'createdAt is kept');
        assert.deepEqual(record.metadata, made.metadata);
        assert.ok(record.updatedAt > previous.updatedAt);
        return record;
      };

      const first = await set('they greeted', { seq: 1, reply: true });
      assert.equal(first.summary, 'they greeted');
      assert.deepEqual(first.folded, { seq: 1, reply: true });

      const second = await set(awkward, { seq: 7, reply: false });
      assert.equal(second.summary, awkward);
      assert.deepEqual(second.folded, { seq: 7, reply: false });

      const cleared = await set(undefined, { seq: 9, reply: true });
      assert.equal('summary' in cleared, false, 'an undefined summary clears it');
      assert.deepEqual(cleared.folded, { seq: 9, reply: true });

      const empty = await set('', { seq: 0, reply: false });
      assert.equal(empty.summary, '', 'an empty summary is kept as one');
      assert.deepEqual(empty.folded, { seq: 0, reply: false });
      assert.deepEqual(await store.messages(made.id), [hello], 'a summary leaves the messages alone');
      assert.deepEqual((await store.list({ key: made.ownerKey }))[0], empty, 'list reads the summary as get does');
    });

    test('lists as unsettled the threads with a user message queued or started, each once', async (store) => {
      const [queued, started, settled, answered, empty, twice] = await Promise.all(
        Array.from({ length: 6 }, () => thread(store)),
      );
      await store.append(queued!.id, { role: 'user', text: 'wait', status: 'queued' });
      await store.append(started!.id, { role: 'user', text: 'go', runId: 'run_1', status: 'started' });
      await store.append(settled!.id, { role: 'user', text: 'dropped', status: 'rolled_back' });
      await store.append(settled!.id, { role: 'user', text: 'broken', status: 'failed' });
      // An assistant message's status is its run's: never a reason to follow the thread.
      await store.append(answered!.id, { role: 'user', text: 'asked', status: 'completed' });
      await store.append(answered!.id, { role: 'assistant', text: 'odd', status: 'queued' });
      await store.append(answered!.id, { role: 'assistant', text: 'odd', status: 'started' });
      await store.append(twice!.id, { role: 'user', text: 'one', status: 'started' });
      await store.append(twice!.id, { role: 'user', text: 'two', status: 'queued' });
      await store.append(twice!.id, { role: 'user', text: 'three', status: 'queued' });

      const mine = new Set(ids([queued!, started!, settled!, answered!, empty!, twice!]));
      const unsettled = await store.unsettled();
      assert.equal(new Set(unsettled).size, unsettled.length, 'each thread is listed once');
      assert.deepEqual(unsettled.filter((id) => mine.has(id)).sort(), [queued!.id, started!.id, twice!.id].sort());

      await store.setStatus(queued!.id, 1, 'failed');
      assert.equal(await store.claim(twice!.id, 2), true);
      await store.setStatus(twice!.id, 1, 'completed');
      await store.setStatus(twice!.id, 2, 'completed');
      await store.setStatus(twice!.id, 3, 'rolled_back');
      assert.deepEqual(
        (await store.unsettled()).filter((id) => mine.has(id)),
        [started!.id],
      );
    });

    test('meets an unknown thread as ThreadStore does: nothing to read, claim or change, and no thread made', async (store) => {
      const unknown = fresh('thread');
      assert.equal(await store.get(unknown), undefined);
      assert.deepEqual(await store.messages(unknown), []);
      assert.equal(await store.claim(unknown, 1), false);
      await store.setStatus(unknown, 1, 'failed');
      await store.setSummary(unknown, 'nothing', { seq: 1, reply: true });
      assert.equal(await store.get(unknown), undefined, 'setSummary does not make the thread');
      assert.deepEqual(await store.messages(unknown), []);
      assert.equal((await store.unsettled()).includes(unknown), false);
    });

    test('appends to an unknown thread as ThreadStore does: the message is kept, numbered from 1, and no thread made', async (store) => {
      // ThreadStore's messages have no foreign key to their thread: callers check the thread first.
      const unknown = fresh('thread');
      const first = await store.append(unknown, { role: 'user', text: 'orphan', status: 'queued' });
      const second = await store.append(unknown, { role: 'user', text: 'orphan too', status: 'queued' });
      assert.deepEqual([first.seq, second.seq], [1, 2]);
      assert.deepEqual(await store.messages(unknown), [first, second]);
      assert.equal(await store.get(unknown), undefined);
      assert.equal((await store.unsettled()).includes(unknown), true);
    });
  });
}
