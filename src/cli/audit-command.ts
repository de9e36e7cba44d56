import pc from 'picocolors';
import { loadConfig, type CadreConfigInput } from '../core/index.js';
import { configuredAuditLog } from '../runtime/store/index.js';
import type { AuditDecision } from '../../tools/index.js';

/** `cadre audit`: every tool call, allowed or refused, newest first, with redacted arguments. */
export async function listAudit(options: {
  config: CadreConfigInput;
  runId?: string;
  tool?: string;
  decision?: AuditDecision;
  limit: number;
  json: boolean;
}): Promise<number> {
  const records = await configuredAuditLog(loadConfig(options.config)).list({
    limit: options.limit,
    ...(options.runId ? { runId: options.runId } : {}),
    ...(options.tool ? { tool: options.tool } : {}),
    ...(options.decision ? { decision: options.decision } : {}),
  });
  for (const r of records) {
    if (options.json) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      continue;
    }
    const when = new Date(r.at).toISOString().replace('T', ' ').slice(0, 19);
    const decision = r.decision === 'allowed' ? pc.green(r.decision) : pc.red(r.decision);
    process.stdout.write(
      `${pc.dim(when)} ${decision.padEnd(24)} ${r.tool.padEnd(28)} ${pc.dim(`${r.runId}/${r.taskId}`)} ${JSON.stringify(r.args)}${r.error ? pc.red(` ${r.error}`) : ''}\n`,
    );
  }
  if (!options.json && records.length === 0) process.stdout.write('no tool calls recorded\n');
  return 0;
}
