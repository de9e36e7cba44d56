import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMcpToolset } from 'cadre/tools';
import { startRecordingServer, type RecordingServer } from './recording-http-server.js';
import { testContext } from './mcp-servers.js';

const servers: RecordingServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const start = async (onDelete?: 'end' | 'refuse' | 'hang') => {
  const server = await startRecordingServer({
    onDelete,
    register: (mcp) =>
      mcp.registerTool('ping', { description: 'Answers pong' }, () => ({ content: [{ type: 'text', text: 'pong' }] })),
  });
  servers.push(server);
  return server;
};

describe('Streamable HTTP sessions', () => {
  it('ends the session with a DELETE carrying its id when the server goes idle', async () => {
    const server = await start();
    const toolset = await createMcpToolset({ servers: { web: { url: server.url, idleTimeoutMs: 200 } } });
    try {
      expect(await toolset.tools()[0]!.run({}, testContext())).toBe('pong');
      expect(server.sessions).toHaveLength(1);
      // The server sees the DELETE before the client has finished closing, so wait for both.
      await vi.waitFor(
        () => {
          expect(server.deletes).toEqual([server.sessions[0]]);
          expect(toolset.status()[0]).toMatchObject({ state: 'idle' });
        },
        { timeout: 5_000 },
      );
    } finally {
      await toolset.close();
    }
    // Closing an idle toolset has no session left to end.
    expect(server.deletes).toHaveLength(1);
  });

  it('ends the session with a DELETE carrying its id on close(), and each new session on its own close', async () => {
    const server = await start();
    const toolset = await createMcpToolset({ servers: { web: { url: server.url } } });
    await toolset.close();
    expect(server.deletes).toEqual([server.sessions[0]]);
    await toolset.refresh();
    await toolset.close();
    expect(server.sessions).toHaveLength(2);
    expect(server.deletes).toEqual(server.sessions);
  });

  it.each(['refuse', 'hang'] as const)('still closes when the server answers the DELETE with %s', async (onDelete) => {
    const server = await start(onDelete);
    const toolset = await createMcpToolset({ servers: { web: { url: server.url } } });
    await toolset.close();
    expect(server.deletes).toEqual([server.sessions[0]]);
    expect(toolset.status()[0]).toMatchObject({ state: 'idle' });
  });
});
