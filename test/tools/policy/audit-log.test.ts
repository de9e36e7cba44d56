import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AuditLog, ToolExecutor, defineTool } from 'cadre/tools';

describe('AuditLog', () => {
  it('never stores secrets: api keys, bearer tokens, passwords and Authorization headers are redacted', async () => {
    const db = new Database(':memory:');
    const audit = new AuditLog(db);
    const call = defineTool({
      name: 'http__call',
      description: 'Call an API',
      effects: 'read',
      run: () => 'ok',
      input: z.object({
        apiKey: z.string(),
        password: z.string(),
        note: z.string(),
        headers: z.record(z.string(), z.string()),
      }),
    });
    const args = {
      apiKey: 'sk-live-0123456789abcdefXYZ',
      password: 'hunter2-hunter2',
      note: 'use Bearer abcdefghijklmnopqrstuvwxyz012345 please',
      headers: { Authorization: 'Basic dXNlcjpwYXNzd29yZA==', Accept: 'application/json' },
    };
    await new ToolExecutor({ tools: [call], audit }).execute(
      { id: 'c', name: 'http__call', args },
      { runId: 'r', taskId: 't', step: 1 },
    );
    const raw = JSON.stringify(db.prepare('SELECT * FROM tool_audit').all());
    for (const secret of [
      'sk-live-0123456789abcdefXYZ',
      'hunter2',
      'abcdefghijklmnopqrstuvwxyz012345',
      'dXNlcjpwYXNzd29yZA==',
    ])
      expect(raw).not.toContain(secret);
    const [record] = audit.list();
    expect(record!.args).toMatchObject({
      apiKey: '[redacted]',
      password: '[redacted]',
      note: 'use [redacted] please',
      headers: { Authorization: '[redacted]', Accept: 'application/json' },
    });
    expect(record).toMatchObject({ decision: 'allowed', resultSize: 2, runId: 'r', taskId: 't' });
  });

  it('filters by run, tool and decision, newest first, up to the limit', () => {
    let now = 0;
    const audit = new AuditLog(new Database(':memory:'), () => (now += 1));
    audit.record({ runId: 'r1', taskId: 't', tool: 'a', args: {}, decision: 'allowed' });
    audit.record({ runId: 'r1', taskId: 't', tool: 'b', args: {}, decision: 'denied', error: 'no' });
    audit.record({ runId: 'r2', taskId: 't', tool: 'a', args: {}, decision: 'allowed' });
    expect(audit.list({ runId: 'r1' }).map((r) => r.tool)).toEqual(['b', 'a']);
    expect(audit.list({ tool: 'a' }).map((r) => r.runId)).toEqual(['r2', 'r1']);
    expect(audit.list({ decision: 'denied' })).toMatchObject([{ tool: 'b', error: 'no', at: 2 }]);
    expect(audit.list({ limit: 1 })).toHaveLength(1);
  });
});
