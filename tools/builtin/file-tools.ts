import { randomBytes } from 'node:crypto';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { z } from 'zod';
import { CadreError } from '../../src/core/index.js';
import { defineTool, type Tool } from '../define-tool.js';
import { resolveInsideRoot } from './path-guard.js';

export interface FileToolsOptions {
  /** The only folder the tools may read or write. */
  root: string;
  /** Most bytes read_file returns. Default 1 MiB. */
  maxBytes?: number;
}

const pathArg = z.string().min(1).max(4096).describe('path relative to the workspace root');

/** `read_file`, `list_dir` and `write_file`, confined to `root` (see resolveInsideRoot). */
export function createFileTools(options: FileToolsOptions): Tool[] {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const readFile = defineTool({
    name: 'read_file',
    description: 'Read a text file in the workspace.',
    input: z.object({ path: pathArg }),
    effects: 'read',
    run: async ({ path }) => {
      const { path: real } = await resolveInsideRoot(options.root, path);
      const handle = await open(real, 'r');
      try {
        const info = await handle.stat();
        if (!info.isFile()) throw new CadreError('input_invalid', `"${path}" is not a file`);
        const buffer = Buffer.alloc(Math.min(info.size, maxBytes));
        await handle.read(buffer, 0, buffer.length, 0);
        const text = buffer.toString('utf8');
        return info.size > maxBytes ? `${text}\n…[file truncated at ${maxBytes} of ${info.size} bytes]` : text;
      } finally {
        await handle.close();
      }
    },
  });
  const listDir = defineTool({
    name: 'list_dir',
    description: 'List the entries of a folder in the workspace, with their kind and size.',
    input: z.object({ path: pathArg.default('.') }),
    effects: 'read',
    run: async ({ path }) => {
      const { path: real } = await resolveInsideRoot(options.root, path);
      const entries = await readdir(real, { withFileTypes: true });
      const lines = await Promise.all(
        entries.sort((a, b) => a.name.localeCompare(b.name)).map(async (entry) => {
          if (entry.isDirectory()) return `${entry.name}/`;
          if (entry.isSymbolicLink()) return `${entry.name} (symlink)`;
          const size = (await stat(join(real, entry.name)).catch(() => undefined))?.size ?? 0;
          return `${entry.name} (${size} bytes)`;
        }),
      );
      return lines.length ? lines.join('\n') : '(empty folder)';
    },
  });
  const writeFile = defineTool({
    name: 'write_file',
    description: 'Create or replace a text file in the workspace. The write is atomic.',
    input: z.object({ path: pathArg, content: z.string().max(10 * 1024 * 1024) }),
    effects: 'write',
    idempotent: true, // writing the same content twice leaves the same file
    run: async ({ path, content }) => {
      const { path: real, root } = await resolveInsideRoot(options.root, path);
      await atomicWrite(real, content);
      return `Wrote ${Buffer.byteLength(content)} bytes to ${relative(root, real)}`;
    },
  });
  return [readFile, listDir, writeFile];
}

/** Writes through a temp file in the same folder, fsyncs it and renames it over the target. */
async function atomicWrite(target: string, content: string): Promise<void> {
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o644);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
    await handle.close();
    await rename(temp, target);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
