import { userInfo } from 'node:os';
import type pg from 'pg';
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { CadreError, createLogger } from '../../../core/index.js';
import type { PostgresPoolOptions } from './postgres-options.js';

const schemaName = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws `config_invalid` unless `schema` is a plain lower-case PostgreSQL name (it is put into SQL as it is). */
export function checkSchemaName(schema: string): void {
  if (!schemaName.test(schema))
    throw new CadreError(
      'config_invalid',
      `Invalid PostgreSQL schema name ${JSON.stringify(schema)}: use a-z, 0-9 and _, not starting with a digit, at most 63`,
    );
}

/** The server and database of a URL, for messages: never its user, password or parameters. */
export function serverName(url: URL): string {
  return `${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
}

/** Wraps a database error as `store_failed`, naming the server but not the credentials. */
export function storeFailed(server: string, error: unknown): CadreError {
  if (CadreError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CadreError('store_failed', `PostgreSQL at ${server}: ${message}`, { cause: error });
}

/** Where a statement runs: the pool, or the one client of a transaction ({@link inTransaction}). */
export interface Queryable {
  /** Runs one parameterised statement. */
  query<R extends QueryResultRow>(sql: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** One parameterised statement on the pool (or a client); a database error becomes `store_failed` naming the server. */
export async function queryOn<R extends QueryResultRow>(
  db: Queryable,
  server: string,
  sql: string,
  values: unknown[] = [],
) {
  try {
    return await db.query<R>(sql, values);
  } catch (error) {
    throw storeFailed(server, error);
  }
}

/**
 * Runs `work` in a transaction on one pooled client: committed once `work` resolves, rolled back
 * when it throws. A CadreError is passed on as it is; any other failure becomes `store_failed`.
 */
export async function inTransaction<T>(
  pool: Pool,
  server: string,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw storeFailed(server, error);
  }
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that cannot even roll back is dropped rather than handed to the next caller.
    await client.query('ROLLBACK').catch(() => (broken = true));
    throw storeFailed(server, error);
  } finally {
    client.release(broken);
  }
}

/** The URL parsed, with the OS user filled in when it names none; `config_invalid` for a URL that is not postgres://. */
export function parseUrl(raw: string): URL {
  if (!raw)
    throw new CadreError('config_invalid', 'No PostgreSQL URL: set CADRE_DATABASE_URL (postgres://host:5432/database)');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CadreError('config_invalid', 'The PostgreSQL URL is not a URL: expected postgres://host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new CadreError('config_invalid', `The PostgreSQL URL must start with postgres://, not ${url.protocol}//`);
  // node-postgres falls back on $USER alone, which some shells and containers leave unset; psql asks the OS.
  if (!url.username && url.hostname) url.username = process.env.PGUSER || osUser();
  return url;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}

async function loadPg(): Promise<typeof pg> {
  try {
    return (await import('pg')).default;
  } catch (error) {
    throw new CadreError('config_invalid', 'The PostgreSQL store needs the pg package: npm install pg', {
      cause: error,
    });
  }
}

/**
 * Opens a `pg` pool on the URL and checks that the server answers: a bad URL or schema name is
 * `config_invalid`, a server that cannot be reached is `store_failed`. `pg` is loaded here, on first
 * use, so that programs which never use PostgreSQL do not need it installed.
 */
export async function openPostgresPool(options: PostgresPoolOptions): Promise<Pool> {
  const url = parseUrl(options.url);
  if (options.schema !== undefined) checkSchemaName(options.schema);
  const server = serverName(url);
  // The URL's own `options` would replace the pool's: both go into one.
  const connectionOptions = [
    url.searchParams.get('options'),
    options.schema ? `-c search_path=${options.schema}` : null,
  ].filter(Boolean);
  url.searchParams.delete('options');
  const pg = await loadPg();
  const pool = new pg.Pool({
    connectionString: url.href,
    max: options.max ?? 10,
    connectionTimeoutMillis: 10_000,
    // Idle connections never keep a process alive: a script that ran its runs exits.
    allowExitOnIdle: true,
    ...(connectionOptions.length ? { options: connectionOptions.join(' ') } : {}),
  });
  // An idle connection the server closes must not crash the process; the pool opens another.
  pool.on('error', (error) => createLogger().warn({ err: error, server }, 'PostgreSQL connection lost'));
  try {
    (await pool.connect()).release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    const message = error instanceof Error ? error.message : String(error);
    throw new CadreError('store_failed', `Cannot connect to PostgreSQL at ${server}: ${message}`, { cause: error });
  }
  return pool;
}
