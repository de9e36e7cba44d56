import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpToolset, type McpToolset } from 'cadre/tools';
import { filesystemEntry, testContext } from './mcp-servers.js';

let dir: string;
let toolset: McpToolset;

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cadre-mcp-fs-')));
  toolset = await createMcpToolset({
    servers: { fs: { command: process.execPath, args: [filesystemEntry, dir], effects: { read_text_file: 'read' } } },
  });
});
afterAll(async () => {
  await toolset.close();
  await rm(dir, { recursive: true, force: true });
});

const tool = (name: string) => toolset.tools().find((t) => t.name === `fs__${name}`)!;

describe('server-filesystem over stdio', () => {
  it('takes effects from config and treats everything else as write', () => {
    expect(tool('read_text_file').effects).toBe('read');
    expect(tool('list_directory').effects).toBe('write');
  });

  it('writes a file inside the allowed directory and reads it back', async () => {
    const path = join(dir, 'note.txt');
    await tool('write_file').run({ path, content: 'written over MCP' }, testContext());
    expect(await readFile(path, 'utf8')).toBe('written over MCP');
    // read_text_file declares an outputSchema: the model reads the text, code gets the checked value too.
    const read = await tool('read_text_file').run({ path }, testContext());
    expect(String(read)).toBe('written over MCP');
    expect(read).toMatchObject({ structured: { content: 'written over MCP' } });
  });

  it('turns an isError result for a path outside the directory into tool_failed', async () => {
    const outside = join(dir, '..', 'outside.txt');
    await expect(Promise.resolve(tool('read_text_file').run({ path: outside }, testContext()))).rejects.toMatchObject({
      code: 'tool_failed',
      message: expect.stringMatching(/denied|outside|not allowed/i),
    });
  });
});
