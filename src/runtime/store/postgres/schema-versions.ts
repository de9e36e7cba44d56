/** One step of the PostgreSQL schema; applied once, in version order, each in its own transaction. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** What a migration did: the versions it applied now, and the version the database is at. */
export interface MigrateResult {
  applied: Array<{ version: number; name: string }>;
  current: number;
}

/** Every version of cadre's PostgreSQL tables, oldest first. Add new ones at the end; never edit one. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'runs and events',
    // An event's body is text, not jsonb: jsonb reorders keys and rejects \u0000, and a replayed
    // event must read back exactly as it was written, as in the SQLite store.
    sql: `
      CREATE TABLE cadre_runs (
        id text PRIMARY KEY,
        goal text NOT NULL,
        status text NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        plan jsonb,
        result jsonb,
        settings jsonb
      );
      CREATE INDEX cadre_runs_created ON cadre_runs (created_at);
      CREATE INDEX cadre_runs_owner ON cadre_runs ((settings->'owner'->>'key'), created_at);
      CREATE TABLE cadre_events (
        run_id text NOT NULL,
        seq integer NOT NULL,
        type text NOT NULL,
        ts bigint NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (run_id, seq)
      );
      CREATE TABLE cadre_event_seq (
        run_id text PRIMARY KEY,
        reserved integer NOT NULL
      );`,
  },
  {
    version: 2,
    name: 'step and tool-call journals',
    // The SQLite store's steps and tool_calls tables. Bodies, arguments and outcomes are text for
    // the same reason as an event's body: they read back exactly as they were written.
    sql: `
      CREATE TABLE cadre_steps (
        run_id text NOT NULL,
        task_key text NOT NULL,
        idx integer NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (run_id, task_key, idx)
      );
      CREATE TABLE cadre_tool_calls (
        run_id text NOT NULL,
        task_key text NOT NULL,
        call_id text NOT NULL,
        tool text NOT NULL,
        args text NOT NULL,
        digest text,
        state text NOT NULL,
        outcome text,
        started_at bigint NOT NULL,
        completed_at bigint,
        PRIMARY KEY (run_id, task_key, call_id)
      );`,
  },
  {
    version: 3,
    name: 'task outcomes',
    // The SQLite store's task_outcomes table: plan revisions share it under the task id '#revision'.
    // Bodies are text for the same reason as an event's body.
    sql: `
      CREATE TABLE cadre_task_outcomes (
        run_id text NOT NULL,
        task_id text NOT NULL,
        first_attempt integer NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (run_id, task_id, first_attempt)
      );`,
  },
  {
    version: 4,
    name: 'run fences',
    // The SQLite store's run_fences table: the epoch of the lease a run is held under (jobs).
    sql: `
      CREATE TABLE cadre_run_fences (
        run_id text PRIMARY KEY,
        epoch bigint NOT NULL
      );`,
  },
  {
    version: 5,
    name: 'API keys and threads',
    // The SQLite store's api_keys, threads and thread_messages tables: every server on the database
    // knows every key and continues every conversation. A key is kept as its SHA-256 hash only.
    sql: `
      CREATE TABLE cadre_api_keys (
        id text PRIMARY KEY,
        name text NOT NULL,
        hash bytea NOT NULL,
        admin boolean NOT NULL,
        created_at bigint NOT NULL,
        revoked_at bigint
      );
      CREATE TABLE cadre_threads (
        id text PRIMARY KEY,
        owner_key text NOT NULL,
        owner_user text,
        team text,
        agent text,
        policy text NOT NULL,
        context_tokens integer NOT NULL,
        metadata text,
        summary text,
        folded_seq integer,
        folded_reply integer,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      );
      CREATE INDEX cadre_threads_owner ON cadre_threads (owner_key, created_at);
      CREATE TABLE cadre_thread_messages (
        thread_id text NOT NULL,
        seq integer NOT NULL,
        id text NOT NULL,
        role text NOT NULL,
        text text NOT NULL,
        run_id text,
        status text NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (thread_id, seq)
      );
      CREATE INDEX cadre_thread_messages_status ON cadre_thread_messages (status, thread_id);`,
  },
  {
    version: 6,
    name: 'tool audit log',
    // The SQLite store's tool_audit table: one row per tool call decision, arguments redacted.
    sql: `
      CREATE TABLE cadre_tool_audit (
        id bigserial PRIMARY KEY,
        at bigint NOT NULL,
        run_id text NOT NULL,
        task_id text NOT NULL,
        agent text,
        tool text NOT NULL,
        args_redacted text NOT NULL,
        decision text NOT NULL,
        duration_ms double precision,
        result_size integer,
        error text
      );
      CREATE INDEX cadre_tool_audit_run ON cadre_tool_audit (run_id, id);`,
  },
  {
    version: 7,
    name: 'run owners',
    // The process (host and pid) that last wrote a run, as the SQLite store keeps it: a run left
    // `running` by a process of this host that is gone reads as `interrupted`, and a server claims it.
    sql: `
      ALTER TABLE cadre_runs ADD COLUMN pid integer, ADD COLUMN host text;`,
  },
  {
    version: 8,
    name: 'queue records',
    // cadre's record beside each job of a BullMQ queue on PostgreSQL alone (src/jobs/postgres-queue-records.ts):
    // fields and members under the keys the Redis records use, and the lease lock.
    sql: `
      CREATE TABLE cadre_queue_fields (
        key text NOT NULL,
        field text NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (key, field)
      );
      CREATE TABLE cadre_queue_members (
        key text NOT NULL,
        member text NOT NULL,
        score double precision,
        PRIMARY KEY (key, member)
      );
      CREATE INDEX cadre_queue_members_score ON cadre_queue_members (key, score);
      CREATE TABLE cadre_queue_locks (
        key text PRIMARY KEY,
        token text NOT NULL,
        until timestamptz NOT NULL
      );`,
  },
];
