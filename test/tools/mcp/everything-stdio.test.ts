import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolExecutor, createMcpToolset, type McpEvent, type McpToolset } from 'cadre/tools';
import { everythingStdio, testContext } from './mcp-servers.js';

let toolset: McpToolset;
const events: McpEvent[] = [];

beforeAll(async () => {
  toolset = await createMcpToolset({ servers: { everything: everythingStdio() }, onEvent: (e) => events.push(e) });
});
afterAll(() => toolset.close());

const tool = (name: string) => {
  const found = toolset.tools().find((t) => t.name === name);
  if (!found)
    throw new Error(
      `no tool ${name}; have ${toolset
        .tools()
        .map((t) => t.name)
        .join(', ')}`,
    );
  return found;
};

describe('server-everything over stdio', () => {
  it('lists its tools namespaced, as write tools with the server schema kept', () => {
    const sum = tool('everything__get-sum');
    expect(sum.effects).toBe('write');
    expect(sum.idempotent).toBe(false);
    expect(sum.description).toMatch(/^\[everything\] .*\(server says: read-only\)$/);
    expect(sum.jsonSchema).toMatchObject({ type: 'object', properties: { a: { type: 'number' } } });
    expect(toolset.status()).toEqual([
      expect.objectContaining({ server: 'everything', state: 'ready', toolCount: toolset.tools().length }),
    ]);
  });

  it('calls echo and get-sum with arguments', async () => {
    expect(await tool('everything__echo').run({ message: 'hello' }, testContext())).toBe('Echo: hello');
    expect(await tool('everything__get-sum').run({ a: 2, b: 40 }, testContext())).toMatch(/is 42/);
  });

  it('runs through the ToolExecutor like any cadre tool', async () => {
    const executor = new ToolExecutor({ tools: toolset.tools() });
    const outcome = await executor.execute(
      { id: 'c1', name: 'everything__get-sum', args: { a: 1, b: 1 } },
      { runId: 'r', taskId: 't', step: 0 },
    );
    expect(outcome).toMatchObject({ ok: true, output: expect.stringMatching(/is 2\.?/) });
  });

  it('reports progress of a long-running tool through onEvent', async () => {
    const before = events.length;
    const output = await tool('everything__trigger-long-running-operation').run(
      { duration: 0.4, steps: 4 },
      { ...testContext(), callId: 'long-1' },
    );
    expect(output).toMatch(/completed/);
    const progress = events
      .slice(before)
      .flatMap((e) => (e.type === 'mcp.progress' ? [[e.progress, e.total, e.callId]] : []));
    // The SDK may drop the last step when it races the result, so only the earlier ones are certain.
    expect(progress.slice(0, 3)).toEqual([
      [1, 4, 'long-1'],
      [2, 4, 'long-1'],
      [3, 4, 'long-1'],
    ]);
  });

  it('ends a long call promptly with cancelled when its signal aborts, and stays usable', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort('user stopped'), 200);
    const call = Promise.resolve(
      tool('everything__trigger-long-running-operation').run(
        { duration: 30, steps: 30 },
        testContext(controller.signal),
      ),
    );
    await expect(call).rejects.toMatchObject({ code: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await tool('everything__echo').run({ message: 'still here' }, testContext())).toBe('Echo: still here');
  });

  it('reads a resource through mcp_read_resource', async () => {
    const read = toolset.resourceTool();
    expect(read.effects).toBe('read');
    const text = await read.run({ server: 'everything', uri: 'demo://resource/dynamic/text/7' }, testContext());
    expect(text).toMatch(/7/);
    await expect(Promise.resolve(read.run({ server: 'nope', uri: 'x' }, testContext()))).rejects.toMatchObject({
      code: 'tool_not_found',
    });
  });
});
