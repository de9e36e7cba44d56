import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMcpToolset, type McpStdioServerConfig, type McpToolset } from 'cadre/tools';
import { hasBwrap } from './has-bwrap.js';
import { filesystemEntry, testContext } from './mcp/mcp-servers.js';
import { requireHere } from './mcp/required-here.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const probeServer = join(repo, 'test/fixtures/mcp-probe-server.ts');
let base: string;
let home: string;
let dir: string;
let other: string;
let outside: string;
let dataDir: string;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'cadre-sandbox-mcp-')));
  home = join(base, 'home');
  dir = join(base, 'allowed');
  other = join(base, 'read-only');
  outside = join(base, 'outside');
  // The data dir inside the server's writable folder: the sandbox must mask it even there.
  dataDir = join(dir, '.cadre');
  await mkdir(join(home, '.ssh'), { recursive: true });
  await mkdir(dataDir, { recursive: true });
  await mkdir(other);
  await mkdir(outside);
  await writeFile(join(home, '.ssh', 'id_ed25519'), 'home secret');
  await writeFile(join(dataDir, 'tokens.json'), 'data dir secret');
});
afterAll(() => rm(base, { recursive: true, force: true }));

const call = async (toolset: McpToolset, name: string, args: Record<string, unknown>) =>
  String(
    await toolset
      .tools()
      .find((t) => t.name === name)!
      .run(args, testContext()),
  );

// Skipped, saying why, where bubblewrap is missing; under CI=true that fails instead. The servers
// start only where it is there.
const noBwrap = hasBwrap ? undefined : 'bubblewrap (bwrap) is not installed or cannot create namespaces here';

describe('a sandboxed stdio MCP server', () => {
  beforeEach((context) => requireHere(context, noBwrap));

  describe('server-filesystem, allowed two folders by its arguments but granted writes to one', () => {
    let toolset: McpToolset;
    beforeAll(async () => {
      if (noBwrap) return;
      toolset = await createMcpToolset({
        servers: {
          fs: {
            command: process.execPath,
            args: [filesystemEntry, dir, other],
            sandbox: { write: [dir], read: [other] },
          },
        },
        sandbox: { hide: [dataDir] },
      });
    });
    afterAll(async () => {
      if (!noBwrap) await toolset.close();
    });

    it('still works through cadre’s client: writes in its folder and reads it back', async () => {
      const path = join(dir, 'note.txt');
      await call(toolset, 'fs__write_file', { path, content: 'written from the sandbox' });
      expect(await readFile(path, 'utf8')).toBe('written from the sandbox');
      expect(await call(toolset, 'fs__read_text_file', { path })).toBe('written from the sandbox');
    });

    it('cannot write to the folder its own arguments allow but the sandbox does not', async () => {
      const path = join(other, 'note.txt');
      await expect(call(toolset, 'fs__write_file', { path, content: 'x' })).rejects.toMatchObject({
        code: 'tool_failed',
        message: expect.stringMatching(/EROFS|read-only/i),
      });
      expect(existsSync(path)).toBe(false);
    });
  });

  describe('a server that tries to read secrets and open connections', () => {
    let toolset: McpToolset;
    let listener: Server;
    let port: number;
    let connections = 0;
    const probe = (sandbox: McpStdioServerConfig['sandbox']): McpStdioServerConfig =>
      ({
        command: process.execPath,
        args: ['--import', 'tsx', probeServer],
        cwd: repo,
        env: { HOME: home },
        ...(sandbox !== undefined ? { sandbox } : {}),
      }) as McpStdioServerConfig;

    beforeAll(async () => {
      if (noBwrap) return;
      listener = createServer((socket) => {
        connections += 1;
        socket.end();
      });
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      port = (listener.address() as { port: number }).port;
      toolset = await createMcpToolset({
        servers: {
          boxed: probe({ write: [dir] }),
          open: probe({ write: [dir], network: true }),
          bare: probe(undefined),
        },
        sandbox: { hide: [dataDir] },
      });
    });
    afterAll(async () => {
      if (noBwrap) return;
      await toolset.close();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    });

    it('cannot read ~/.ssh or the data dir, which the same server reads unsandboxed', async () => {
      for (const path of [join(home, '.ssh', 'id_ed25519'), join(dataDir, 'tokens.json')]) {
        expect(await call(toolset, 'boxed__read', { path })).toBe('error ENOENT');
        expect(await call(toolset, 'bare__read', { path })).toMatch(/secret/);
      }
    });

    it('cannot write outside its folder, and can inside it', async () => {
      const name = `cadre-probe-${randomUUID()}`;
      // A folder on the host it was not granted does not exist for it; its cwd and /etc are read-only.
      expect(await call(toolset, 'boxed__write', { path: join(outside, name), content: 'x' })).toBe('error ENOENT');
      expect(await call(toolset, 'boxed__write', { path: join(repo, name), content: 'x' })).toBe('error EROFS');
      expect(await call(toolset, 'boxed__write', { path: join('/etc', name), content: 'x' })).toBe('error EROFS');
      expect(await call(toolset, 'boxed__write', { path: join(dir, name), content: 'x' })).toBe('written');
      for (const folder of [outside, repo, '/etc']) expect(existsSync(join(folder, name))).toBe(false);
      expect(existsSync(join(dir, name))).toBe(true);
    });

    it('cannot open a TCP connection to the host, unless its network is allowed', async () => {
      expect(await call(toolset, 'boxed__connect', { port })).toBe('error ECONNREFUSED');
      expect(connections).toBe(0);
      expect(await call(toolset, 'open__connect', { port })).toBe('connected');
      expect(connections).toBe(1);
    });
  });
});
