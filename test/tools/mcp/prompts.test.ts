import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createMcpToolset } from 'cadre/tools';
import { listMcpPrompts } from '../../../src/cli/mcp-command.js';
import { startRecordingServer, type RecordingServer } from './recording-http-server.js';

let withPrompts: RecordingServer;
let withoutPrompts: RecordingServer;
beforeAll(async () => {
  withPrompts = await startRecordingServer({
    register: (mcp) => {
      mcp.registerPrompt(
        'review',
        { description: 'Review one file', argsSchema: { file: z.string() } },
        ({ file }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Review ${file} for bugs.` } }] }),
      );
      mcp.registerPrompt('summarise', { description: 'Summarise the repository' }, () => ({
        messages: [{ role: 'user', content: { type: 'text', text: 'Summarise it.' } }],
      }));
    },
  });
  withoutPrompts = await startRecordingServer({
    register: (mcp) =>
      mcp.registerTool('ping', { description: 'pong' }, () => ({ content: [{ type: 'text', text: 'pong' }] })),
  });
});
afterAll(async () => {
  await withPrompts.close();
  await withoutPrompts.close();
});

describe('MCP prompts', () => {
  it('lists prompts with their arguments across servers and fetches one with its arguments filled in', async () => {
    const toolset = await createMcpToolset({
      servers: { code: { url: withPrompts.url }, plain: { url: withoutPrompts.url } },
    });
    try {
      const prompts = await toolset.listPrompts();
      expect(prompts.map((p) => [p.server, p.name])).toEqual([
        ['code', 'review'],
        ['code', 'summarise'],
      ]);
      expect(prompts[0]!.arguments).toEqual([expect.objectContaining({ name: 'file', required: true })]);
      expect(await toolset.listPrompts('plain')).toEqual([]);
      const review = await toolset.getPrompt('code', 'review', { file: 'src/a.ts' });
      expect(review.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Review src/a.ts for bugs.' } }]);
      await expect(toolset.getPrompt('nowhere', 'review')).rejects.toMatchObject({ code: 'tool_not_found' });
    } finally {
      await toolset.close();
    }
  });

  it('`cadre mcp prompts [server]` prints each prompt with its required arguments marked', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cadre-mcp-prompts-'));
    const written: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const config = { dataDir, mcpServers: { code: { url: withPrompts.url }, plain: { url: withoutPrompts.url } } };
      expect(await listMcpPrompts({ config, json: false })).toBe(0);
      const text = stripVTControlCharacters(written.join(''));
      expect(text).toContain('code/review file* · Review one file');
      expect(text).toContain('code/summarise · Summarise the repository');
      written.length = 0;
      expect(await listMcpPrompts({ config, server: 'plain', json: true })).toBe(0);
      expect(JSON.parse(written.join(''))).toEqual({ prompts: [] });
    } finally {
      write.mockRestore();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
