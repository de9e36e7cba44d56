import { PassThrough } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { RunResult } from 'cadre';
import { printResult } from '../../src/cli/print-result.js';

const waiting: RunResult = {
  runId: 'run_q1',
  status: 'awaiting_approval',
  answer: null,
  plan: null,
  tasks: [],
  usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
  costUsd: 0,
  models: [],
  steps: 1,
  durationMs: 3,
  approval: {
    kind: 'elicitation',
    server: 'everything',
    tool: 'trigger-elicitation-request',
    message: 'Please provide inputs',
    requestedSchema: { type: 'object', properties: { name: { type: 'string' }, check: { type: 'boolean' } } },
    taskId: 'main',
  },
  trace: [],
};

function printed(result: RunResult): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  printResult(result, out);
  return stripVTControlCharacters(text);
}

describe("the CLI for a run waiting on an MCP server's question", () => {
  it('shows the question, the fields asked for and how to answer it', () => {
    const text = printed(waiting);
    expect(text).toContain('question from MCP server everything: Please provide inputs');
    expect(text).toContain("waiting for an answer (name, check): cadre resume run_q1 --answer '{…}'  (or --reject)");
    expect(text).not.toContain('--approve');
  });

  it('refuses an --answer that is not a JSON object before touching any run', () => {
    const resumed = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'resume', 'run_q1', '--answer', '["Ana"]'],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(resumed.status).not.toBe(0);
    expect(resumed.stderr).toContain('expected a JSON object');
  });
});
