import type pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import { CadreError } from '../core/index.js';
import { openMigratedPool } from '../runtime/store/postgres/migrations.js';
import { queryOn, serverName } from '../runtime/store/postgres/postgres-pool.js';
import type { PostgresPoolOptions } from '../runtime/store/postgres/postgres-options.js';
import type { QueueRecords, RecordBatch } from './queue-records.js';

/** The channel cadre's queue records notify; the payload names the records' channel. */
const wakeChannel = 'cadre_queue_wake';

/** One statement of a batch, and how its result becomes the command's reply. */
interface Statement {
  sql: string;
  reply: (result: pg.QueryResult) => unknown;
}

const rowCount = (result: pg.QueryResult) => result.rowCount ?? 0;
const toFields = (rows: { field: string; value: string }[]) =>
  Object.fromEntries(rows.map((row) => [row.field, row.value])) as Record<string, string>;

/**
 * cadre's queue records in PostgreSQL (migration 8): fields in `cadre_queue_fields`, sets and sorted
 * sets in `cadre_queue_members` (a set's members have no score), locks in `cadre_queue_locks` (timed
 * by the database's clock), wake-ups by NOTIFY. A batch is one multi-statement query, which
 * PostgreSQL runs as one transaction: one round trip. The pool (up to 5 connections, one of them
 * LISTENing once a subscriber comes) opens on first use; a server that cannot be reached then is
 * `unavailable`, naming it.
 */
export function postgresRecords(options: PostgresPoolOptions): QueueRecords {
  let server = 'an unreadable URL';
  try {
    server = serverName(new URL(options.url));
  } catch {
    // openMigratedPool says what is wrong with the URL.
  }
  let opened: Promise<{ pool: Pool; literal: (value: string) => string }> | undefined;
  const open = () =>
    (opened ??= (async () => {
      try {
        // The pool first: it says so when `pg` is not installed (config_invalid).
        const pool = await openMigratedPool({ ...options, max: 5 });
        return { pool, literal: (await import('pg')).default.escapeLiteral };
      } catch (error) {
        opened = undefined;
        if (CadreError.isInstance(error) && error.code === 'config_invalid') throw error;
        const message = error instanceof Error ? error.message : String(error);
        throw new CadreError('unavailable', `Cannot reach PostgreSQL at ${server} for the job queue: ${message}`, {
          cause: error,
          details: { postgres: server },
        });
      }
    })());
  const query = async <R extends pg.QueryResultRow>(sql: string, values: unknown[]) =>
    (await queryOn<R>((await open()).pool, server, sql, values)).rows;

  // Subscribers by channel, woken through one LISTENing connection.
  const subscribers = new Map<string, Set<() => void>>();
  let listening: Promise<PoolClient | undefined> | undefined;
  let closed = false;
  const listen = () =>
    (listening ??= open()
      .then(async ({ pool }) => {
        const client = await pool.connect();
        client.on('notification', ({ payload }) => {
          for (const onMessage of subscribers.get(payload ?? '') ?? []) onMessage();
        });
        client.on('error', () => {
          listening = undefined;
          client.release(true);
          // Listen again while anyone subscribes; meanwhile the workers' polls find the work.
          if (!closed && subscribers.size) setTimeout(() => void listen(), 1000).unref();
        });
        await client.query(`LISTEN ${wakeChannel}`);
        return client;
      })
      .catch(() => (listening = undefined)));

  return {
    fields: async (key) => toFields(await query('SELECT field, value FROM cadre_queue_fields WHERE key = $1', [key])),
    async someFields(key, ...names) {
      const found = toFields(
        await query('SELECT field, value FROM cadre_queue_fields WHERE key = $1 AND field = ANY($2)', [key, names]),
      );
      return names.map((name) => found[name]);
    },
    setIfUnset: async (key, name, value) =>
      (
        await query(
          'INSERT INTO cadre_queue_fields (key, field, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1',
          [key, name, value],
        )
      ).length === 1,
    members: async (key) =>
      (await query<{ member: string }>('SELECT member FROM cadre_queue_members WHERE key = $1', [key])).map(
        (row) => row.member,
      ),
    count: async (key) =>
      Number((await query<{ n: string }>('SELECT count(*) AS n FROM cadre_queue_members WHERE key = $1', [key]))[0]!.n),
    has: async (key, member) =>
      (await query('SELECT 1 FROM cadre_queue_members WHERE key = $1 AND member = $2', [key, member])).length === 1,
    upTo: async (key, max, below = false) =>
      (
        await query<{ member: string }>(
          `SELECT member FROM cadre_queue_members WHERE key = $1 AND score ${below ? '<' : '<='} $2
           ORDER BY score, member COLLATE "C"`,
          [key, max],
        )
      ).map((row) => row.member),
    // Redis's ranks: ties in score by member, bytewise. Only the page asked for is read; a negative
    // stop counts from the end (-1: the last), so the rows from `start` on are read and cut.
    async range(key, start, stop, reverse = false) {
      const order = reverse ? 'score DESC, member COLLATE "C" DESC' : 'score, member COLLATE "C"';
      const rows = await query<{ member: string }>(
        `SELECT member FROM cadre_queue_members WHERE key = $1 ORDER BY ${order} OFFSET $2 LIMIT $3`,
        [key, start, stop < 0 ? null : Math.max(0, stop - start + 1)],
      );
      return rows.slice(0, stop < 0 ? rows.length + stop + 1 : undefined).map((row) => row.member);
    },

    batch() {
      const commands: ((literal: (value: string) => string) => Statement)[] = [];
      const list = (literal: (value: string) => string, values: (string | number)[]) =>
        values.map((value) => literal(String(value))).join(', ');
      /** Adds a statement, built with the literal escaper once the pool is open, and its reply. */
      const push = (sql: (l: (value: string) => string) => string, reply: Statement['reply'] = rowCount) => {
        commands.push((l) => ({ sql: sql(l), reply }));
        return batch;
      };
      const batch: RecordBatch = {
        set: (key, values) =>
          push(
            (l) =>
              `INSERT INTO cadre_queue_fields (key, field, value) VALUES ${Object.entries(values)
                .map(([name, value]) => `(${list(l, [key, name, value])})`)
                .join(', ')} ON CONFLICT (key, field) DO UPDATE SET value = excluded.value`,
          ),
        unset: (key, ...names) =>
          push((l) => `DELETE FROM cadre_queue_fields WHERE key = ${l(key)} AND field IN (${list(l, names)})`),
        increment(key, name, by) {
          const n = Math.trunc(by);
          return push(
            (l) => `INSERT INTO cadre_queue_fields AS f (key, field, value) VALUES (${list(l, [key, name, n])})
                    ON CONFLICT (key, field) DO UPDATE SET value = (f.value::bigint + ${n})::text RETURNING value`,
            (result) => Number((result.rows[0] as { value: string }).value),
          );
        },
        add: (key, ...members) =>
          push(
            (l) =>
              `INSERT INTO cadre_queue_members (key, member) VALUES ${members
                .map((member) => `(${list(l, [key, member])})`)
                .join(', ')} ON CONFLICT DO NOTHING`,
          ),
        addScored(key, score, member) {
          if (!Number.isFinite(score))
            throw new CadreError('internal', `A score must be a finite number, not ${score}`);
          return push(
            (l) => `INSERT INTO cadre_queue_members (key, member, score) VALUES (${list(l, [key, member])}, ${score})
                    ON CONFLICT (key, member) DO UPDATE SET score = excluded.score`,
          );
        },
        remove: (key, ...members) =>
          push((l) => `DELETE FROM cadre_queue_members WHERE key = ${l(key)} AND member IN (${list(l, members)})`),
        // Sets and sorted sets share one table here.
        removeScored: (key, ...members) => batch.remove(key, ...members),
        drop: (key) =>
          push(
            (l) => `WITH dropped AS (DELETE FROM cadre_queue_fields WHERE key = ${l(key)})
                    DELETE FROM cadre_queue_members WHERE key = ${l(key)}`,
          ),
        fields: (key) =>
          push(
            (l) => `SELECT field, value FROM cadre_queue_fields WHERE key = ${l(key)}`,
            (result) => toFields(result.rows as { field: string; value: string }[]),
          ),
        has: (key, member) =>
          push(
            (l) =>
              `SELECT EXISTS (SELECT 1 FROM cadre_queue_members WHERE key = ${l(key)} AND member = ${l(member)}) AS has`,
            (result) => (result.rows[0] as { has: boolean }).has,
          ),
        async exec() {
          if (!commands.length) return [];
          const { pool, literal } = await open();
          const statements = commands.map((command) => command(literal));
          // Several statements in one simple query are one transaction (literals, as such a query has no parameters).
          const results = await queryOn(pool, server, statements.map((statement) => statement.sql).join(';\n'));
          const each = (Array.isArray(results) ? results : [results]) as pg.QueryResult[];
          return statements.map((statement, i) => statement.reply(each[i]!));
        },
      };
      return batch;
    },

    lock: async (key, token, ttlMs) =>
      (
        await query(
          `INSERT INTO cadre_queue_locks AS held (key, token, until)
           VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
           ON CONFLICT (key) DO UPDATE SET token = excluded.token, until = excluded.until
           WHERE held.until < clock_timestamp()
           RETURNING 1`,
          [key, token, ttlMs],
        )
      ).length === 1,
    async unlock(key, token) {
      await query('DELETE FROM cadre_queue_locks WHERE key = $1 AND token = $2', [key, token]);
    },

    publish(channel) {
      void query('SELECT pg_notify($1, $2)', [wakeChannel, channel]).catch(() => undefined);
    },
    subscribe(channel, onMessage) {
      let set = subscribers.get(channel);
      if (!set) subscribers.set(channel, (set = new Set()));
      set.add(onMessage);
      void listen();
      return () => {
        set.delete(onMessage);
        if (!set.size) subscribers.delete(channel);
      };
    },

    async close() {
      closed = true;
      subscribers.clear();
      (await listening)?.release(true);
      listening = undefined;
      const pool = await opened?.then(
        (done) => done.pool,
        () => undefined,
      );
      opened = undefined;
      await pool?.end();
    },
  };
}
