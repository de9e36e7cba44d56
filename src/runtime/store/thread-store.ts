import {
  CadreError,
  createId,
  type DoubleTextPolicy,
  type ThreadMessage,
  type ThreadMessageStatus,
  type ThreadRecord,
} from '../../core/index.js';
import type { SqliteDatabase } from './database.js';
import { WriteBatch } from './write-batch.js';

export type { DoubleTextPolicy, ThreadMessage, ThreadMessageStatus, ThreadRecord } from '../../core/index.js';

interface ThreadRow {
  id: string;
  owner_key: string;
  owner_user: string | null;
  team: string | null;
  agent: string | null;
  policy: DoubleTextPolicy;
  context_tokens: number;
  metadata: string | null;
  summary: string | null;
  folded_seq: number | null;
  folded_reply: number | null;
  created_at: number;
  updated_at: number;
}

interface MessageRow {
  thread_id: string;
  seq: number;
  id: string;
  role: 'user' | 'assistant';
  text: string;
  run_id: string | null;
  status: string;
  created_at: number;
}

/**
 * Threads and their messages in cadre's SQLite database. Every write commits before it returns, so
 * a message the API acknowledged survives a killed process.
 */
export class ThreadStore {
  private readonly batch: WriteBatch;
  private readonly statements;

  constructor(private readonly db: SqliteDatabase) {
    this.batch = WriteBatch.of(db);
    this.statements = {
      insertThread: db.prepare(
        `INSERT INTO threads (id, owner_key, owner_user, team, agent, policy, context_tokens, metadata, created_at, updated_at)
         VALUES (@id, @ownerKey, @ownerUser, @team, @agent, @policy, @contextTokens, @metadata, @now, @now)`,
      ),
      thread: db.prepare<[string], ThreadRow>('SELECT * FROM threads WHERE id = ?'),
      nextSeq: db.prepare<[string], { next: number }>(
        'SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM thread_messages WHERE thread_id = ?',
      ),
      insertMessage: db.prepare(
        `INSERT INTO thread_messages (thread_id, seq, id, role, text, run_id, status, created_at)
         VALUES (@threadId, @seq, @id, @role, @text, @runId, @status, @createdAt)`,
      ),
      touch: db.prepare('UPDATE threads SET updated_at = ? WHERE id = ?'),
      setStatus: db.prepare('UPDATE thread_messages SET status = ? WHERE thread_id = ? AND seq = ?'),
      claim: db.prepare(
        "UPDATE thread_messages SET status = 'started' WHERE thread_id = ? AND seq = ? AND status = 'queued'",
      ),
      messages: db.prepare<[string], MessageRow>('SELECT * FROM thread_messages WHERE thread_id = ? ORDER BY seq'),
      reply: db.prepare<[string, string], MessageRow>(
        "SELECT * FROM thread_messages WHERE thread_id = ? AND role = 'assistant' AND run_id = ? ORDER BY seq LIMIT 1",
      ),
      setSummary: db.prepare(
        'UPDATE threads SET summary = ?, folded_seq = ?, folded_reply = ?, updated_at = ? WHERE id = ?',
      ),
      waiting: db.prepare<[], { thread_id: string }>(
        "SELECT DISTINCT thread_id FROM thread_messages WHERE status IN ('queued', 'started') AND role = 'user'",
      ),
    };
  }

  /** Makes a thread, committed before this returns. */
  create(input: Omit<ThreadRecord, 'id' | 'createdAt' | 'updatedAt' | 'summary' | 'folded'>): ThreadRecord {
    if ((input.team === undefined) === (input.agent === undefined))
      throw new CadreError('input_invalid', 'A thread names either a `team` or an `agent`');
    const id = createId('thread');
    const now = Date.now();
    this.batch.write(() =>
      this.statements.insertThread.run({
        id,
        ownerKey: input.ownerKey,
        ownerUser: input.ownerUser ?? null,
        team: input.team ?? null,
        agent: input.agent ?? null,
        policy: input.policy,
        contextTokens: input.contextTokens,
        metadata: JSON.stringify(input.metadata),
        now,
      }),
    );
    this.batch.commit();
    return this.get(id)!;
  }

  /** The thread, whoever owns it (callers check ownership). */
  get(id: string): ThreadRecord | undefined {
    const row = this.statements.thread.get(id);
    return row ? toThread(row) : undefined;
  }

  /**
   * Threads newest first: those of `key` (every key's without one), of `user` when given, created
   * before `before` (ms) when given; at most `limit` (default 50).
   */
  list(filter: { key?: string; user?: string; before?: number; limit?: number } = {}): ThreadRecord[] {
    const where = [
      ...(filter.key !== undefined ? ['owner_key = @key'] : []),
      ...(filter.user !== undefined ? ['owner_user = @user'] : []),
      ...(filter.before !== undefined ? ['created_at < @before'] : []),
    ];
    const sql = `SELECT * FROM threads ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT @limit`;
    const params = Object.fromEntries(
      Object.entries({ ...filter, limit: filter.limit ?? 50 }).filter(([, v]) => v !== undefined),
    );
    return (this.db.prepare(sql).all(params) as ThreadRow[]).map(toThread);
  }

  /**
   * Appends a message (its seq is the thread's next), committed before this returns. A run's reply
   * (an assistant message naming a run) is kept once: appended again, by this or another process,
   * the one kept is returned and nothing is added.
   */
  append(
    threadId: string,
    message: { role: 'user' | 'assistant'; text: string; runId?: string; status: ThreadMessageStatus },
  ): ThreadMessage {
    let stored!: ThreadMessage;
    this.batch.write(() => {
      const kept =
        message.role === 'assistant' && message.runId !== undefined
          ? this.statements.reply.get(threadId, message.runId)
          : undefined;
      if (kept) return void (stored = toMessage(kept));
      const seq = this.statements.nextSeq.get(threadId)!.next;
      stored = { id: createId('msg'), threadId, seq, createdAt: Date.now(), ...message };
      this.statements.insertMessage.run({ ...stored, runId: stored.runId ?? null });
      this.statements.touch.run(stored.createdAt, threadId);
    });
    this.batch.commit();
    return stored;
  }

  /** Sets a message's status, committed before this returns. */
  setStatus(threadId: string, seq: number, status: ThreadMessageStatus): void {
    this.batch.write(() => this.statements.setStatus.run(status, threadId, seq));
    this.batch.commit();
  }

  /**
   * Marks a queued message `started` if it still is `queued`, committed before this returns: of two
   * processes starting the same message, one gets true.
   */
  claim(threadId: string, seq: number): boolean {
    let claimed = false;
    this.batch.write(() => (claimed = this.statements.claim.run(threadId, seq).changes === 1));
    this.batch.commit();
    return claimed;
  }

  /** The thread's messages, in order. */
  messages(threadId: string): ThreadMessage[] {
    return this.statements.messages.all(threadId).map(toMessage);
  }

  /** Keeps the rolling summary and how far it reaches. */
  setSummary(threadId: string, summary: string | undefined, folded: { seq: number; reply: boolean }): void {
    this.batch.write(() =>
      this.statements.setSummary.run(summary ?? null, folded.seq, folded.reply ? 1 : 0, Date.now(), threadId),
    );
    this.batch.commit();
  }

  /** Threads with a user message queued or started: those whose runs may still need following. */
  unsettled(): string[] {
    return this.statements.waiting.all().map((r) => r.thread_id);
  }
}

function toThread(row: ThreadRow): ThreadRecord {
  return {
    id: row.id,
    ownerKey: row.owner_key,
    ...(row.owner_user !== null ? { ownerUser: row.owner_user } : {}),
    ...(row.team !== null ? { team: row.team } : {}),
    ...(row.agent !== null ? { agent: row.agent } : {}),
    policy: row.policy,
    contextTokens: row.context_tokens,
    metadata: row.metadata ? (JSON.parse(row.metadata) as Record<string, unknown>) : {},
    ...(row.summary !== null ? { summary: row.summary } : {}),
    ...(row.folded_seq !== null ? { folded: { seq: row.folded_seq, reply: row.folded_reply === 1 } } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toMessage(row: MessageRow): ThreadMessage {
  return {
    id: row.id,
    threadId: row.thread_id,
    seq: row.seq,
    role: row.role,
    text: row.text,
    ...(row.run_id !== null ? { runId: row.run_id } : {}),
    status: row.status,
    createdAt: row.created_at,
  };
}
