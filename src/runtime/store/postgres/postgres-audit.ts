import { auditRecordOf, type AuditQuery, type AuditRecord, type AuditRow } from '../../../../tools/policy/index.js';
import { openMigratedPool } from './migrations.js';
import type { PostgresPoolOptions } from './postgres-options.js';
import { queryOn, serverName } from './postgres-pool.js';

/** The tool audit log in PostgreSQL (`cadre_tool_audit`), as the embedded `AuditLog` keeps it. */
export interface PostgresAudit {
  /** Stores rows made by `auditRow`, in one statement. */
  append(rows: readonly (string | number | null)[][]): Promise<void>;
  /** Matching records, newest first (at most `limit`, default 100). */
  list(query?: AuditQuery): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

const columns = 'at, run_id, task_id, agent, tool, args_redacted, decision, duration_ms, result_size, error';

/** Opens the audit log on its own small pool, the tables migrated on open. */
export async function openPostgresAudit(options: PostgresPoolOptions): Promise<PostgresAudit> {
  const pool = await openMigratedPool({ ...options, max: options.max ?? 2 });
  const server = serverName(new URL(options.url));
  return {
    append: async (rows) => {
      if (rows.length === 0) return;
      const values = rows.flat();
      const tuples = rows.map((_, r) => `(${Array.from({ length: 10 }, (_, c) => `$${r * 10 + c + 1}`).join(', ')})`);
      await queryOn(pool, server, `INSERT INTO cadre_tool_audit (${columns}) VALUES ${tuples.join(', ')}`, values);
    },
    list: async (query = {}) => {
      const filters = (
        [
          ['run_id', query.runId],
          ['tool', query.tool],
          ['decision', query.decision],
        ] as const
      ).filter(([, value]) => value !== undefined);
      const where = filters.map(([column], i) => `${column} = $${i + 1}`);
      const values: unknown[] = filters.map(([, value]) => value);
      values.push(query.limit ?? 100);
      const { rows } = await queryOn<AuditRow>(
        pool,
        server,
        `SELECT * FROM cadre_tool_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${values.length}`,
        values,
      );
      return rows.map(auditRecordOf);
    },
    close: () => pool.end(),
  };
}
