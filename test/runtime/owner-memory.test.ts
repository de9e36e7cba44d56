import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type CadreEventOf, type RunOwner } from 'cadre';
import { createMemory, type Memory } from 'cadre/memory';
import { ScriptedChatModel } from 'cadre/testing';
import { collect } from '../fixtures/run-events.js';

let memory: Memory;
beforeAll(async () => {
  memory = await createMemory({ dir: mkdtempSync(join(tmpdir(), 'cadre-owner-memory-')), env: {} });
});
afterAll(() => memory.close());

const fact = 'The locker code of the north office is 4711';
const config = { ollamaHost: 'http://127.0.0.1:2' };
const agent = { name: 'clerk', instructions: 'Use memory.' };

/** One run that calls a memory tool once and answers with what the tool said. */
async function once(tool: 'remember' | 'recall', owner?: RunOwner): Promise<string> {
  const model = new ScriptedChatModel({
    respond: ({ toolResults }) =>
      toolResults.length
        ? `said: ${toolResults[0]!.content}`
        : {
            toolCalls: [
              { name: tool, args: tool === 'remember' ? { text: fact } : { query: 'locker code north office' } },
            ],
          },
  });
  const { result, events } = await collect(
    run({ goal: 'Note or find the locker code', agent, model, memory, config, ...(owner ? { owner } : {}) }),
  );
  expect(result.status).toBe('completed');
  const results = events.filter((e): e is CadreEventOf<'tool.result'> => e.type === 'tool.result');
  return results.map((e) => e.output).join('\n');
}

describe('a run started for someone uses memory as that someone only', { timeout: 60_000 }, () => {
  it("keeps one user's notes from another user of the same key, from another key, and from runs without an owner", async () => {
    expect(await once('remember', { key: 'key_a', user: 'ana' })).toMatch(/^remembered/);
    expect(await once('recall', { key: 'key_a', user: 'ana' })).toContain('4711');
    expect(await once('recall', { key: 'key_a', user: 'bob' })).not.toContain('4711');
    expect(await once('recall', { key: 'key_b', user: 'ana' })).not.toContain('4711');
    expect(await once('recall', { key: 'key_a' })).not.toContain('4711');
    expect(await once('recall')).not.toContain('4711');
    // The note is in the shared stores, under the owner's scope: memory itself still has it.
    const stats = await memory.stats();
    expect(stats.vectors).toBeGreaterThanOrEqual(1);
  });
});
