import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';

const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const fixture = fileURLToPath(new URL('./stdio-server.ts', import.meta.url));

describe('serveStdio', () => {
  it('serves cadre tools to a client that spawned it', async () => {
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: tsx, args: [fixture], stderr: 'pipe' }));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
      const result = (await client.callTool({ name: 'echo', arguments: { text: 'over stdio' } })) as CallToolResult;
      expect((result.content[0] as { text: string }).text).toContain('over stdio');
    } finally {
      await client.close();
    }
  });
});
