import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createMcpToolset } from 'cadre/tools';
import { startEverythingHttp, testContext } from './mcp-servers.js';

const children: ChildProcess[] = [];
afterAll(() => children.forEach((child) => child.kill()));

describe('server-everything over HTTP (loopback only)', () => {
  it('connects with Streamable HTTP and calls a tool', async () => {
    const { port, child } = await startEverythingHttp('streamableHttp');
    children.push(child);
    const toolset = await createMcpToolset({ servers: { web: { url: `http://127.0.0.1:${port}/mcp` } } });
    try {
      const sum = toolset.tools().find((t) => t.name === 'web__get-sum')!;
      expect(await sum.run({ a: 3, b: 4 }, testContext())).toMatch(/is 7/);
      expect(toolset.status()[0]).toMatchObject({ server: 'web', state: 'ready' });
      expect(toolset.status()[0]!.pid).toBeUndefined();
    } finally {
      await toolset.close();
    }
  });

  it('falls back to legacy SSE when the server answers 4xx to the Streamable HTTP POST', async () => {
    const { port, child } = await startEverythingHttp('sse');
    children.push(child);
    const toolset = await createMcpToolset({ servers: { old: { url: `http://127.0.0.1:${port}/sse` } } });
    try {
      expect(toolset.status()[0]).toMatchObject({ state: 'ready' });
      const echo = toolset.tools().find((t) => t.name === 'old__echo')!;
      expect(await echo.run({ message: 'over sse' }, testContext())).toBe('Echo: over sse');
    } finally {
      await toolset.close();
    }
  });
});
