import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMcpToolset, type McpEvent } from 'cadre/tools';
import { everythingStdio, fixtureServer, testContext } from './mcp-servers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cadre-mcp-life-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
};

describe('MCP server lifecycle', () => {
  it('lists tools from a warm cache without starting anything, starts on first call, stops when idle', async () => {
    const cachePath = join(dir, 'mcp-tools.json');
    const servers = { everything: everythingStdio({ idleTimeoutMs: 300 }) };
    const cold = await createMcpToolset({ servers, cachePath });
    await cold.close();
    expect(JSON.parse(await readFile(cachePath, 'utf8')).servers.everything.tools.length).toBeGreaterThan(0);

    const warm = await createMcpToolset({ servers, cachePath });
    try {
      expect(warm.status()).toEqual([expect.objectContaining({ state: 'idle', toolCount: warm.tools().length })]);
      expect(warm.status()[0]!.pid).toBeUndefined();
      const echo = warm.tools().find((t) => t.name === 'everything__echo')!;
      expect(await echo.run({ message: 'wake' }, testContext())).toBe('Echo: wake');
      const pid = warm.status()[0]!.pid!;
      expect(alive(pid)).toBe(true);
      // server-everything asks a client that offers roots for them 350 ms after connecting; when
      // that request outlives stdin it keeps the process up until the SDK's SIGTERM (2 s after closing).
      await vi.waitFor(
        () => {
          expect(alive(pid)).toBe(false);
          expect(warm.status()[0]).toMatchObject({ state: 'idle' });
        },
        { timeout: 5_000, interval: 50 },
      );
      expect(warm.status()[0]!.pid).toBeUndefined();
      await warm.refresh();
      expect(warm.status()[0]).toMatchObject({ state: 'ready', pid: expect.any(Number) });
    } finally {
      await warm.close();
    }
  });

  it('misses the cache when the server config changed', async () => {
    const cachePath = join(dir, 'changed.json');
    await (await createMcpToolset({ servers: { everything: everythingStdio() }, cachePath })).close();
    const changed = await createMcpToolset({
      servers: { everything: everythingStdio({ env: { MARK: '1' } }) },
      cachePath,
    });
    try {
      // Listing required a connection, so the server is running now.
      expect(changed.status()[0]).toMatchObject({ state: 'ready' });
    } finally {
      await changed.close();
    }
  });

  it('fails a call in flight with tool_failed when the server dies, and reconnects on the next call', async () => {
    const events: McpEvent[] = [];
    const toolset = await createMcpToolset({
      servers: { crashy: fixtureServer('crashy') },
      onEvent: (e) => events.push(e),
    });
    try {
      const crash = toolset.tools().find((t) => t.name === 'crashy__crash')!;
      const ping = toolset.tools().find((t) => t.name === 'crashy__ping')!;
      const firstPid = toolset.status()[0]!.pid!;
      await expect(Promise.resolve(crash.run({}, testContext()))).rejects.toMatchObject({
        code: 'tool_failed',
        message: expect.stringMatching(/^MCP server "crashy" closed the connection.* during the call$/s),
      });
      expect(toolset.status()[0]).toMatchObject({ state: 'closed' });
      expect(await ping.run({}, testContext())).toMatch(/^pong \d+$/);
      const secondPid = toolset.status()[0]!.pid!;
      expect(secondPid).not.toBe(firstPid);
      expect(events.filter((e) => e.type === 'mcp.state').map((e) => e.type === 'mcp.state' && e.state)).toEqual([
        'connecting',
        'ready',
        'closed',
        'connecting',
        'ready',
      ]);
    } finally {
      await toolset.close();
    }
  });

  it('picks up a tool the server adds after tools/list_changed', async () => {
    const toolset = await createMcpToolset({ servers: { growing: fixtureServer('growing') } });
    try {
      expect(toolset.tools().map((t) => t.name)).toEqual(['growing__grow']);
      await toolset.tools()[0]!.run({}, testContext());
      await vi.waitFor(() => expect(toolset.tools().map((t) => t.name)).toContain('growing__extra'), {
        timeout: 5_000,
      });
      const extra = toolset.tools().find((t) => t.name === 'growing__extra')!;
      expect(await extra.run({}, testContext())).toBe('extra here');
    } finally {
      await toolset.close();
    }
  });

  it('reports a server that cannot start as failed and still loads the others', async () => {
    const toolset = await createMcpToolset({
      servers: { broken: { command: join(dir, 'no-such-binary') }, everything: everythingStdio() },
    });
    try {
      expect(toolset.status().find((s) => s.server === 'broken')).toMatchObject({
        state: 'failed',
        toolCount: 0,
        lastError: expect.stringMatching(/could not be started/),
      });
      expect(toolset.tools().some((t) => t.server === 'everything')).toBe(true);
    } finally {
      await toolset.close();
    }
  });
});
