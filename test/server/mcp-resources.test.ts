import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  ErrorCode,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type TextResourceContents,
} from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemory } from 'cadre/memory';
import { run } from 'cadre';
import { ScriptedChatModel } from 'cadre/testing';
import { createCadreMcpServer, type CadreMcpServerOptions } from '../../src/server/mcp/index.js';
import { connectInMemory, mcpError, scriptedRun, tempStore } from './mcp-fixtures.js';

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const resourceNotFound = -32002;
const jsonOf = (result: { contents: unknown[] }) => JSON.parse((result.contents[0] as TextResourceContents).text);

function connect(options: Partial<CadreMcpServerOptions> & Pick<CadreMcpServerOptions, 'store'>) {
  return connectInMemory(createCadreMcpServer({ tools: [], ...options }), clients);
}

describe('cadre MCP server: runs as resources', () => {
  it('lists the store’s runs newest first, a page at a time, each as its cadre://runs URI', async () => {
    const { store, config } = tempStore();
    const ids: string[] = [];
    for (const goal of ['first goal', 'second goal', 'third goal']) ids.push((await scriptedRun(config, goal)).runId);
    const client = await connect({ store, pageSize: 2 });
    const first = await client.listResources();
    expect(first.resources.map((r) => r.uri)).toEqual([`cadre://runs/${ids[2]}`, `cadre://runs/${ids[1]}`]);
    expect(first.resources[0]).toMatchObject({
      name: ids[2],
      title: 'third goal',
      mimeType: 'application/json',
      description: expect.stringMatching(/^completed · started /),
    });
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await client.listResources({ cursor: first.nextCursor! });
    expect(second.resources.map((r) => r.name)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeUndefined();
  });

  it('pages through runs created in the same millisecond without skipping or repeating one', async () => {
    const { store } = tempStore();
    const now = Date.now();
    const created = ['a', 'b', 'c', 'd', 'e'].map((id) => `run_same_${id}`);
    for (const id of created) store.runs.create({ id, goal: id });
    store.db.prepare('UPDATE runs SET created_at = ?').run(now);
    const client = await connect({ store, pageSize: 2 });
    const seen: string[] = [];
    let cursor: string | undefined;
    // Bounded: a cursor that does not advance must fail the test, not hang it.
    for (let pages = 0; pages < 5; pages++) {
      const page = await client.listResources(cursor ? { cursor } : {});
      seen.push(...page.resources.map((r) => r.name));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(cursor).toBeUndefined();
    expect(seen.sort()).toEqual(created);
  });

  it('reads a run’s record and result, and its event log, as JSON', async () => {
    const { store, config } = tempStore();
    const result = await scriptedRun(config, 'name a colour', 'blue');
    const client = await connect({ store });
    const runJson = jsonOf(await client.readResource({ uri: `cadre://runs/${result.runId}` }));
    expect(runJson).toMatchObject({
      id: result.runId,
      goal: 'name a colour',
      status: 'completed',
      result: { status: 'completed', answer: 'blue' },
    });
    expect(runJson.settings).toBeUndefined();
    const events = jsonOf(await client.readResource({ uri: `cadre://runs/${result.runId}/events` })) as Array<{
      seq: number;
      type: string;
      runId: string;
    }>;
    expect(events.length).toBeGreaterThan(2);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.every((e) => e.runId === result.runId)).toBe(true);
    expect(events.map((e) => e.type)).toContain('run.completed');
    expect(events.at(-1)!.seq).toBe(store.events.lastSeq(result.runId));
  });

  it('lists the run templates and completes run ids by prefix', async () => {
    const { store, config } = tempStore();
    const a = (await scriptedRun(config, 'one')).runId;
    const b = (await scriptedRun(config, 'two')).runId;
    const client = await connect({ store });
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual([
      'cadre://runs/{runId}',
      'cadre://runs/{runId}/events',
    ]);
    const complete = (uri: string, value: string) =>
      client.complete({ ref: { type: 'ref/resource', uri }, argument: { name: 'runId', value } });
    expect((await complete('cadre://runs/{runId}', 'run_')).completion.values.sort()).toEqual([a, b].sort());
    expect((await complete('cadre://runs/{runId}/events', b)).completion.values).toEqual([b]);
    expect((await complete('cadre://runs/{runId}', 'nope')).completion.values).toEqual([]);
  });

  it('answers bad input with a clear MCP error and keeps serving', async () => {
    const { store, config } = tempStore();
    const { runId } = await scriptedRun(config, 'still here');
    const client = await connect({ store });
    const unknown = await mcpError(client.readResource({ uri: 'cadre://runs/run_missing' }));
    expect(unknown.code).toBe(resourceNotFound);
    expect(unknown.message).toMatch(/No run run_missing/);
    expect((await mcpError(client.readResource({ uri: 'cadre://runs/run_missing/events' }))).code).toBe(
      resourceNotFound,
    );
    const unserved = await mcpError(client.readResource({ uri: 'cadre://nothing/here' }));
    expect(unserved.code).toBe(resourceNotFound);
    expect(unserved.message).toMatch(/cadre:\/\/runs\/\{runId\}/);
    expect((await mcpError(client.readResource({ uri: 'not a uri' }))).code).toBe(ErrorCode.InvalidParams);
    expect((await mcpError(client.readResource({ uri: 'cadre://runs/%E0%A4%A' }))).code).toBe(ErrorCode.InvalidParams);
    expect((await mcpError(client.listResources({ cursor: 'garbage' }))).code).toBe(ErrorCode.InvalidParams);
    expect((await mcpError(client.subscribeResource({ uri: 'cadre://runs/run_missing' }))).code).toBe(resourceNotFound);
    expect((await mcpError(client.subscribeResource({ uri: 'https://example.com/x' }))).code).toBe(
      ErrorCode.InvalidParams,
    );
    expect(jsonOf(await client.readResource({ uri: `cadre://runs/${runId}` })).status).toBe('completed');
  });

  it('declares subscriptions and a changing resource list, and fixed tools', async () => {
    const { store } = tempStore();
    const client = await connect({ store, runGoal: async () => 'ok' });
    expect(client.getServerCapabilities()).toMatchObject({
      resources: { subscribe: true, listChanged: true },
      tools: { listChanged: false },
      completions: {},
      logging: {},
    });
    const quiet = await connect({ store, watchIntervalMs: 0 });
    expect(quiet.getServerCapabilities()?.resources).toMatchObject({ subscribe: false, listChanged: false });
  });

  it('tells a subscriber when its run changes, and every client when a run is created', async () => {
    const { store, config } = tempStore();
    const client = await connect({ store, watchIntervalMs: 10 });
    const updated: string[] = [];
    let listChanged = 0;
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void (listChanged += 1));

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handle = run({
      goal: 'wait for the gate',
      agent: { name: 'solo', instructions: 'Answer.' },
      model: new ScriptedChatModel({ respond: async () => (await gate, 'through') }),
      config,
    });
    await expect.poll(() => listChanged, { timeout: 2000 }).toBe(1);
    const uri = `cadre://runs/${handle.runId}`;
    await client.subscribeResource({ uri });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(updated).toEqual([]);
    release();
    await handle.result;
    await expect.poll(() => updated.length, { timeout: 2000 }).toBeGreaterThan(0);
    expect(new Set(updated)).toEqual(new Set([uri]));
    expect(jsonOf(await client.readResource({ uri })).status).toBe('completed');

    await client.unsubscribeResource({ uri });
    const after = updated.length;
    await scriptedRun(config, 'another');
    await expect.poll(() => listChanged, { timeout: 2000 }).toBe(2);
    expect(updated.length).toBe(after);
  });

  it('searches memory through cadre://memory/search?q=', async () => {
    const { store, dir } = tempStore();
    const memory = await createMemory({ dir: `${dir}/memory` });
    try {
      await memory.remember('The staging database lives on port 6543.');
      await memory.remember('Lunch is at noon.');
      const client = await connect({ store, memory });
      const found = jsonOf(
        await client.readResource({ uri: `cadre://memory/search?q=${encodeURIComponent('staging database port')}` }),
      ) as { items: Array<{ text: string }> };
      expect(found.items[0]?.text).toBe('The staging database lives on port 6543.');
      expect((await mcpError(client.readResource({ uri: 'cadre://memory/search?q=%20' }))).code).toBe(
        ErrorCode.InvalidParams,
      );
      const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
      expect(templates).toContain('cadre://memory/search{?q}');
    } finally {
      await memory.close();
    }
  });
});
