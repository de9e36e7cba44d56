import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolExecutor, createMcpToolset } from 'cadre/tools';
import { startRecordingServer, type RecordingServer } from './recording-http-server.js';
import { testContext } from './mcp-servers.js';

let server: RecordingServer;
let workspace: string;
beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'cadre-mcp-roots-'));
  server = await startRecordingServer({
    register: (mcp) =>
      mcp.registerTool('roots', { description: 'Asks the client for its roots' }, async (extra) => {
        const { roots } = await mcp.server.listRoots(undefined, { relatedRequestId: extra.requestId });
        return { content: [{ type: 'text', text: JSON.stringify(roots) }] };
      }),
  });
});
afterAll(async () => {
  await server.close();
  await rm(workspace, { recursive: true, force: true });
});

describe('MCP roots', () => {
  it("answers roots/list with the workspace and the server's configured roots, resolved against the workspace", async () => {
    const toolset = await createMcpToolset({
      servers: { files: { url: server.url, roots: ['data', '/srv/shared', 'file:///mnt/archive'] } },
      workspaceDir: workspace,
    });
    try {
      const initialize = server.received.find((m) => 'method' in m && m.method === 'initialize');
      expect(initialize && 'params' in initialize ? initialize.params?.capabilities : undefined).toMatchObject({
        roots: {},
      });
      const roots = JSON.parse(String(await toolset.tools()[0]!.run({}, testContext()))) as unknown;
      expect(roots).toEqual([
        { uri: pathToFileURL(workspace).href, name: 'workspace' },
        { uri: pathToFileURL(join(workspace, 'data')).href },
        { uri: 'file:///srv/shared' },
        { uri: 'file:///mnt/archive' },
      ]);
    } finally {
      await toolset.close();
    }
  });

  it('offers no roots to a server whose entry lists none, so it keeps the folders it was started with', async () => {
    const before = server.received.length;
    const toolset = await createMcpToolset({ servers: { files: { url: server.url } }, workspaceDir: workspace });
    try {
      const initialize = server.received.slice(before).find((m) => 'method' in m && m.method === 'initialize');
      const capabilities = initialize && 'params' in initialize ? initialize.params?.capabilities : undefined;
      expect(capabilities).toBeDefined();
      expect(capabilities).not.toHaveProperty('roots');
    } finally {
      await toolset.close();
    }
  });

  it('gives an agent of a role in roleRoots its own instance of the server, offered its own roots', async () => {
    const toolset = await createMcpToolset({
      servers: { files: { url: server.url, roots: ['data'], roleRoots: { writer: ['out'], auditor: ['/srv/logs'] } } },
      workspaceDir: workspace,
    });
    const workspaceRoot = { uri: pathToFileURL(workspace).href, name: 'workspace' };
    const rootsFor = async (role?: string) => {
      const executor = new ToolExecutor({ tools: toolset.tools(), ...(role ? { role } : {}) });
      const outcome = await executor.execute(
        { id: `c-${role ?? 'none'}`, name: toolset.tools()[0]!.name, args: {} },
        { runId: 'r', taskId: 't', step: 1 },
      );
      expect(outcome.ok).toBe(true);
      return JSON.parse(outcome.output) as unknown;
    };
    const initializes = () => server.received.filter((m) => 'method' in m && m.method === 'initialize').length;
    try {
      const before = initializes();
      expect(await rootsFor('writer')).toEqual([workspaceRoot, { uri: pathToFileURL(join(workspace, 'out')).href }]);
      expect(await rootsFor('auditor')).toEqual([workspaceRoot, { uri: 'file:///srv/logs' }]);
      // A role not named, and an agent without a role, share the server's own instance and roots.
      const shared = [workspaceRoot, { uri: pathToFileURL(join(workspace, 'data')).href }];
      expect(await rootsFor('reader')).toEqual(shared);
      expect(await rootsFor()).toEqual(shared);
      // The writer's instance is kept for its next call: one connection per role, and the shared one.
      expect(await rootsFor('writer')).toEqual([workspaceRoot, { uri: pathToFileURL(join(workspace, 'out')).href }]);
      expect(initializes() - before).toBeLessThanOrEqual(3);
    } finally {
      await toolset.close();
    }
  });
});
