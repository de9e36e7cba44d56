import type { QueryResultRow } from 'pg';
import { CadreError, createId } from '../../../core/index.js';
import type { ThreadRecords } from '../thread-records.js';
import type { DoubleTextPolicy, ThreadMessage, ThreadRecord } from '../thread-store.js';
import { openMigratedPool } from './migrations.js';
import type { PostgresPoolOptions } from './postgres-options.js';
import { inTransaction, queryOn, serverName } from './postgres-pool.js';

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
  /** bigint: pg gives it as a string. */
  created_at: string;
  updated_at: string;
}

interface MessageRow {
  thread_id: string;
  seq: number;
  id: string;
  role: 'user' | 'assistant';
  text: string;
  run_id: string | null;
  status: string;
  /** bigint: pg gives it as a string. */
  created_at: string;
}

/** Read as ThreadStore reads a `threads` row. */
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
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Read as ThreadStore reads a `thread_messages` row. */
function toMessage(row: MessageRow): ThreadMessage {
  return {
    id: row.id,
    threadId: row.thread_id,
    seq: row.seq,
    role: row.role,
    text: row.text,
    ...(row.run_id !== null ? { runId: row.run_id } : {}),
    status: row.status,
    createdAt: Number(row.created_at),
  };
}

/** PostgreSQL's unique_violation, under the error a failed transaction becomes. */
const isUniqueViolation = (error: unknown) => {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return cause?.code === '23505' || (error as { code?: unknown }).code === '23505';
};

/** Tries at one seq; another writer taking it first (possible only on a thread without a row to lock) means trying again. */
const appendAttempts = 100;

/**
 * Opens cadre's thread store on a PostgreSQL database (`CADRE_DATABASE_URL`): threads and their
 * messages in the `cadre_threads` and `cadre_thread_messages` tables, on a connection pool of its
 * own, the tables migrated to the newest version on open. It behaves as the SQLite ThreadStore
 * does, and stays right with several processes on one database: a thread's messages are numbered
 * one after another when many are appended at once, and of many claims of one message, one wins.
 * Needs the `pg` package (`npm install pg`). With `schema`, every table lives in that schema.
 */
export async function openPostgresThreadStore(options: PostgresPoolOptions): Promise<ThreadRecords> {
  const pool = await openMigratedPool(options);
  const server = serverName(new URL(options.url));
  const query = <R extends QueryResultRow>(sql: string, values: unknown[] = []) =>
    queryOn<R>(pool, server, sql, values);
  let ended: Promise<void> | undefined;

  return {
    create: async (input) => {
      if ((input.team === undefined) === (input.agent === undefined))
        throw new CadreError('input_invalid', 'A thread names either a `team` or an `agent`');
      const now = Date.now();
      const { rows } = await query<ThreadRow>(
        `INSERT INTO cadre_threads
           (id, owner_key, owner_user, team, agent, policy, context_tokens, metadata, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         RETURNING *`,
        [
          createId('thread'),
          input.ownerKey,
          input.ownerUser ?? null,
          input.team ?? null,
          input.agent ?? null,
          input.policy,
          input.contextTokens,
          JSON.stringify(input.metadata),
          now,
        ],
      );
      return toThread(rows[0]!);
    },

    get: async (id) => {
      const { rows } = await query<ThreadRow>('SELECT * FROM cadre_threads WHERE id = $1', [id]);
      return rows[0] ? toThread(rows[0]) : undefined;
    },

    list: async (filter = {}) => {
      const values: unknown[] = [];
      const where: string[] = [];
      const add = (condition: string, value: unknown) => {
        values.push(value);
        where.push(`${condition} $${values.length}`);
      };
      if (filter.key !== undefined) add('owner_key =', filter.key);
      if (filter.user !== undefined) add('owner_user =', filter.user);
      if (filter.before !== undefined) add('created_at <', filter.before);
      // As in SQLite, a negative limit means none (PostgreSQL refuses one; LIMIT NULL is LIMIT ALL).
      const limit = filter.limit ?? 50;
      values.push(limit < 0 ? null : limit);
      // Ties in createdAt go by id in byte order, as SQLite orders them, whatever the database's collation.
      const { rows } = await query<ThreadRow>(
        `SELECT * FROM cadre_threads ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $${values.length}`,
        values,
      );
      return rows.map(toThread);
    },

    append: async (threadId, message) => {
      const id = createId('msg');
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await inTransaction(pool, server, async (client) => {
            // The thread's row, locked until commit, makes appends to one thread take turns: each one
            // reads the seq the one before it committed.
            await client.query('SELECT 1 FROM cadre_threads WHERE id = $1 FOR UPDATE', [threadId]);
            // A run's reply is kept once, whichever server writes it first.
            if (message.role === 'assistant' && message.runId !== undefined) {
              const { rows: kept } = await client.query<MessageRow>(
                `SELECT * FROM cadre_thread_messages WHERE thread_id = $1 AND role = 'assistant' AND run_id = $2
                  ORDER BY seq LIMIT 1`,
                [threadId, message.runId],
              );
              if (kept[0]) return toMessage(kept[0]);
            }
            const createdAt = Date.now();
            const { rows } = await client.query<{ seq: number }>(
              `INSERT INTO cadre_thread_messages (thread_id, seq, id, role, text, run_id, status, created_at)
               SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7
                 FROM cadre_thread_messages WHERE thread_id = $1
               RETURNING seq`,
              [threadId, id, message.role, message.text, message.runId ?? null, message.status, createdAt],
            );
            await client.query('UPDATE cadre_threads SET updated_at = $1 WHERE id = $2', [createdAt, threadId]);
            return toMessage({
              thread_id: threadId,
              seq: rows[0]!.seq,
              id,
              role: message.role,
              text: message.text,
              run_id: message.runId ?? null,
              status: message.status,
              created_at: String(createdAt),
            });
          });
        } catch (error) {
          if (!isUniqueViolation(error) || attempt >= appendAttempts) throw error;
        }
      }
    },

    setStatus: async (threadId, seq, status) => {
      await query('UPDATE cadre_thread_messages SET status = $1 WHERE thread_id = $2 AND seq = $3', [
        status,
        threadId,
        seq,
      ]);
    },

    claim: async (threadId, seq) => {
      // One statement: a second claimer waits for the first to commit, then finds the message started.
      const { rowCount } = await query(
        `UPDATE cadre_thread_messages SET status = 'started'
          WHERE thread_id = $1 AND seq = $2 AND status = 'queued'`,
        [threadId, seq],
      );
      return rowCount === 1;
    },

    messages: async (threadId) => {
      const { rows } = await query<MessageRow>(
        'SELECT * FROM cadre_thread_messages WHERE thread_id = $1 ORDER BY seq',
        [threadId],
      );
      return rows.map(toMessage);
    },

    setSummary: async (threadId, summary, folded) => {
      await query(
        'UPDATE cadre_threads SET summary = $1, folded_seq = $2, folded_reply = $3, updated_at = $4 WHERE id = $5',
        [summary ?? null, folded.seq, folded.reply ? 1 : 0, Date.now(), threadId],
      );
    },

    unsettled: async () => {
      const { rows } = await query<{ thread_id: string }>(
        `SELECT DISTINCT thread_id FROM cadre_thread_messages WHERE status IN ('queued', 'started') AND role = 'user'`,
      );
      return rows.map((row) => row.thread_id);
    },

    close: () => (ended ??= pool.end()),
  };
}
