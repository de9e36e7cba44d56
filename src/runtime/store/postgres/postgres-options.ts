/** Where a PostgreSQL store connects. */
export interface PostgresPoolOptions {
  /** `postgres://user:password@host:5432/database`; a URL without a user means the OS user, as for psql. */
  url: string;
  /** A schema of its own for cadre's tables (every connection's search_path); default: the server's search_path. */
  schema?: string;
  /** Connections at most; default 10. */
  max?: number;
}
