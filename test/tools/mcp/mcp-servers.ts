// Paths and launch configs for the real MCP servers the tests run; not a test file itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { McpServerConfig } from 'cadre/tools';

const root = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

export const everythingEntry = root('node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const filesystemEntry = root('node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
export const loopbackPreload = root('test/fixtures/mcp-loopback-only.ts');

export const everythingStdio = (extra: Partial<McpServerConfig> = {}): McpServerConfig =>
  ({ command: process.execPath, args: [everythingEntry, 'stdio'], ...extra }) as McpServerConfig;

export const fixtureServer = (name: 'crashy' | 'growing', extra: Partial<McpServerConfig> = {}): McpServerConfig =>
  ({
    command: process.execPath,
    args: ['--import', 'tsx', root(`test/fixtures/mcp-${name}-server.ts`)],
    cwd: root(''),
    ...extra,
  }) as McpServerConfig;

export const testContext = (signal = new AbortController().signal) => ({
  signal,
  runId: 'r',
  taskId: 't',
  callId: 'c',
});

/** A port free right now on loopback. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts server-everything over HTTP on loopback only and resolves once it is listening. */
export async function startEverythingHttp(
  mode: 'streamableHttp' | 'sse',
): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', loopbackPreload, everythingEntry, mode], {
    cwd: root(''),
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`server-everything ${mode} did not start: ${log}`)), 15_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (/listening|running/i.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`server-everything exited with ${code}: ${log}`)));
  });
  return { port, child };
}
