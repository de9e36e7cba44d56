import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger, run } from 'cadre';
import { StaticPlanner } from 'cadre/planners';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';
import { secretOnlySamples, type Sample } from '../fixtures/sensitive/index.js';

/** One sample of every form: each supported secret format once. */
function oneOfEachForm(): Sample[] {
  const seen = new Set<string>();
  return secretOnlySamples().filter((s) => !seen.has(s.form) && seen.add(s.form));
}

/** A middle slice and the whole value, raw and JSON-escaped: enough to see any stored copy. */
const needles = (value: string) =>
  [
    value,
    JSON.stringify(value).slice(1, -1),
    value.slice(Math.floor(value.length / 4), Math.floor(value.length / 4) + 16),
  ].filter((n) => n.length >= 12);

/** Every row of every table of the database, as text (blobs decoded), one string per table. */
function everyTable(path: string): Map<string, string> {
  const db = new Database(path, { readonly: true });
  const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
  const dump = new Map<string, string>();
  for (const { name } of tables) {
    const rows = db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[];
    dump.set(
      name,
      rows
        .map((row) =>
          Object.values(row)
            .map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)))
            .join('\u0001'),
        )
        .join('\n'),
    );
  }
  db.close();
  return dump;
}

describe('secrets at rest', () => {
  // Both engines: the direct one (no checkpoints) and the LangGraph workflow, whose checkpoints are scanned too.
  it.each(['direct', 'workflow'] as const)(
    'leaves no secret of any supported format in any table of the database or any log line, wherever it entered the run (%s engine)',
    async (engine) => {
      const samples = oneOfEachForm();
      expect(samples.length).toBeGreaterThanOrEqual(40);
      const post = defineTool({
        name: 'post',
        description: 'posts a body',
        input: z.object({ url: z.string(), body: z.string() }),
        effects: 'write',
        idempotent: true,
        run: () => 'posted',
      });
      const fetchConfig = defineTool({
        name: 'fetch_config',
        description: 'reads config',
        input: z.object({ n: z.number() }),
        effects: 'read',
        run: ({ n }) => `config:\n${samples[n]!.text}`,
      });
      const fail = defineTool({
        name: 'fail',
        description: 'fails',
        input: z.object({ n: z.number() }),
        effects: 'read',
        run: ({ n }) => {
          throw new Error(`upstream refused: ${samples[n]!.text}`);
        },
      });
      // Step n: the model says the secret, posts it to a URL that carries it, reads it, and meets it in an error.
      const model = new ScriptedChatModel({
        respond: ({ call }) => {
          if (call >= samples.length) return 'All done.';
          const { text, value } = samples[call]!;
          return {
            content: `Working with ${text}`,
            toolCalls: [
              {
                name: 'post',
                args: { url: `https://hooks.example.com/in?token=${encodeURIComponent(value)}`, body: text },
              },
              { name: 'fetch_config', args: { n: call } },
              { name: 'fail', args: { n: call } },
            ],
          };
        },
      });
      const lines: string[] = [];
      const logger = createLogger({
        level: 'trace',
        name: 'secrets-test',
        destination: new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }),
      });
      logger.warn(
        { err: new Error(`boom ${samples[0]!.text}`), headers: { authorization: samples[1]!.value } },
        `while calling with ${samples[2]!.text}`,
      );
      const dir = mkdtempSync(join(tmpdir(), 'cadre-secrets-'));
      const path = join(dir, 'cadre.db');
      const result = await run({
        goal: 'use the credentials',
        agent: { name: 'ops', instructions: 'Do it.', tools: [post, fetchConfig, fail], maxSteps: samples.length + 5 },
        model,
        logger,
        // Durable tool approvals are LangGraph interrupts: they put the run on the workflow.
        ...(engine === 'workflow' ? { approveTool: 'interrupt' as const } : {}),
        planner: new StaticPlanner({
          goal: 'g',
          tasks: [{ id: 'main', title: 'use them', instruction: 'use the credentials', role: 'ops' }],
        }),
        config: { databasePath: path, maxSteps: samples.length + 5, ollamaHost: 'http://127.0.0.1:2' },
      }).result;
      expect(result.status).toBe('completed');
      const tables = everyTable(path);
      for (const table of ['events', 'steps', 'tool_calls', 'tool_audit', 'task_outcomes', 'runs'])
        expect([...tables.keys()]).toContain(table);
      if (engine === 'workflow') expect(tables.get('checkpoints') ?? '').not.toBe('');
      // The run really stored its steps and calls: the scan below has something to scan.
      expect(tables.get('steps')!.split('\n').length).toBeGreaterThan(samples.length * 3);
      expect(tables.get('tool_calls')!.split('\n').length).toBe(samples.length);
      const leaks: string[] = [];
      for (const sample of samples) {
        for (const [table, text] of tables)
          if (needles(sample.value).some((n) => text.includes(n))) leaks.push(`${sample.form} in ${table}`);
        if (needles(sample.value).some((n) => lines.some((line) => line.includes(n))))
          leaks.push(`${sample.form} in the log`);
      }
      expect(leaks).toEqual([]);
      expect(lines.join('')).toContain('[redacted]');
    },
    60_000,
  );
});
