import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ToolExecutor, createMcpToolset, type McpToolset } from 'cadre/tools';
import { startRecordingServer, type RecordingServer } from './recording-http-server.js';
import { testContext } from './mcp-servers.js';

type RequestId = string | number;
const started: RequestId[] = [];
const abortedOnServer: Array<{ requestId: RequestId; reason: unknown }> = [];
let server: RecordingServer;
let toolset: McpToolset;

beforeAll(async () => {
  server = await startRecordingServer({
    register: (mcp) => {
      mcp.registerTool('wait', { description: 'Runs until the client cancels it' }, async (extra) => {
        started.push(extra.requestId);
        await new Promise((resolve) => extra.signal.addEventListener('abort', resolve, { once: true }));
        abortedOnServer.push({ requestId: extra.requestId, reason: extra.signal.reason });
        return { content: [{ type: 'text', text: 'stopped' }] };
      });
      mcp.registerTool('ping', { description: 'Answers pong' }, () => ({ content: [{ type: 'text', text: 'pong' }] }));
    },
  });
  toolset = await createMcpToolset({ servers: { slow: { url: server.url } } });
});
afterAll(async () => {
  await toolset.close();
  await server.close();
});

const cancellations = () =>
  server.received.flatMap((m) => ('method' in m && m.method === 'notifications/cancelled' ? [m.params] : []));

describe('cancelling an MCP tool call', () => {
  it("sends notifications/cancelled with the call's request id, and the server-side handler sees its signal abort", async () => {
    const executor = new ToolExecutor({ tools: toolset.tools() });
    const run = new AbortController();
    const outcome = executor.execute(
      { id: 'c1', name: 'slow__wait', args: {} },
      { runId: 'r', taskId: 't', step: 1, signal: run.signal },
    );
    await vi.waitFor(() => expect(started).toHaveLength(1), { timeout: 5_000 });
    const requestId = started[0]!;
    expect(server.received).toContainEqual(expect.objectContaining({ method: 'tools/call', id: requestId }));

    run.abort('user stopped');
    await expect(outcome).rejects.toMatchObject({ code: 'cancelled' });
    await vi.waitFor(() => expect(abortedOnServer.map((a) => a.requestId)).toEqual([requestId]), { timeout: 5_000 });
    expect(cancellations()).toEqual([
      expect.objectContaining({ requestId, reason: expect.stringContaining('user stopped') }),
    ]);
    expect(
      await toolset
        .tools()
        .find((t) => t.mcpName === 'ping')!
        .run({}, testContext()),
    ).toBe('pong');
  });

  it("cancels a call on the server when the executor's timeout ends it, and leaves no listener on the run's signal", async () => {
    const executor = new ToolExecutor({ tools: toolset.tools(), timeoutMs: 300, retries: 0 });
    const run = new AbortController();
    const before = started.length;
    const outcome = await executor.execute(
      { id: 'c2', name: 'slow__wait', args: {} },
      { runId: 'r', taskId: 't', step: 1, signal: run.signal },
    );
    expect(outcome.error?.code).toBe('timeout');
    const requestId = started[before]!;
    await vi.waitFor(() => expect(abortedOnServer.map((a) => a.requestId)).toContain(requestId), { timeout: 5_000 });
    expect(cancellations()).toContainEqual(expect.objectContaining({ requestId }));
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
  });

  it("leaves no listener on the caller's signal once calls end, so a later abort sends nothing stale", async () => {
    const ping = toolset.tools().find((t) => t.mcpName === 'ping')!;
    const controller = new AbortController();
    for (let i = 0; i < 3; i++) expect(await ping.run({}, testContext(controller.signal))).toBe('pong');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
