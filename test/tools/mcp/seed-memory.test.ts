import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScriptFunction } from 'cadre/testing';
import type { McpServerConfig } from 'cadre/tools';
import { runWithServers, seedEntries } from './seed-servers.js';

// The reference knowledge-graph memory server, keeping its graph in a JSONL file of the test's own.
const memoryServer = (file: string): McpServerConfig => ({
  command: process.execPath,
  args: [seedEntries.memory],
  env: { MEMORY_FILE_PATH: file },
  effects: {
    create_entities: 'write',
    create_relations: 'write',
    read_graph: 'read',
    open_nodes: 'read',
    search_nodes: 'read',
  },
});
// Deleting from the graph is not this agent's business: hidden from the model altogether.
const toolPolicy = { deny: ['memory__delete_*'] };

/** Calls the tools in turn, then answers with the last result. */
const steps =
  (...calls: Array<{ name: string; args: Record<string, unknown> }>): ScriptFunction =>
  ({ call, toolResults }) =>
    call < calls.length ? { toolCalls: [calls[call]!] } : `recalled: ${toolResults[0]!.content}`;

describe('server-memory in a run', { timeout: 60_000 }, () => {
  it('creates entities and a relation, reads them back, and a later run finds them by search', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cadre-seed-memory-')), 'graph.jsonl');
    const first = await runWithServers({
      goal: 'Remember that Ana likes green tea and works at Acme.',
      respond: steps(
        {
          name: 'memory__create_entities',
          args: {
            entities: [
              { name: 'Ana', entityType: 'person', observations: ['likes green tea'] },
              { name: 'Acme', entityType: 'company', observations: ['makes anvils'] },
            ],
          },
        },
        {
          name: 'memory__create_relations',
          args: { relations: [{ from: 'Ana', to: 'Acme', relationType: 'works at' }] },
        },
        { name: 'memory__open_nodes', args: { names: ['Ana'] } },
      ),
      mcpServers: { memory: memoryServer(file) },
      toolPolicy,
    });
    expect(first.result.status).toBe('completed');
    expect(first.offered).toContain('memory__read_graph');
    expect(first.offered.filter((t) => t.includes('delete'))).toEqual([]);
    expect(first.calls.map((c) => [c.tool, c.ok])).toEqual([
      ['memory__create_entities', true],
      ['memory__create_relations', true],
      ['memory__open_nodes', true],
    ]);
    const opened = JSON.parse(first.calls[2]!.output) as { entities: unknown[] };
    expect(opened.entities).toEqual([{ name: 'Ana', entityType: 'person', observations: ['likes green tea'] }]);
    expect(first.result.answer).toContain('likes green tea');
    expect(readFileSync(file, 'utf8')).toContain('"relationType":"works at"');

    const later = await runWithServers({
      goal: 'Who likes tea?',
      respond: steps({ name: 'memory__search_nodes', args: { query: 'tea' } }),
      mcpServers: { memory: memoryServer(file) },
      toolPolicy,
    });
    expect(later.result.status).toBe('completed');
    const found = JSON.parse(later.calls[0]!.output) as { entities: Array<{ name: string }> };
    expect(found.entities.map((e) => e.name)).toEqual(['Ana']);
  });
});
