import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { defineTool, type Tool } from '../define-tool.js';
import { pathError } from './path-errors.js';
import { resolveInsideRoot } from './path-guard.js';
import { openFileInsideRoot, openFolderInsideRoot } from './verified-open.js';
import { writeInsideRoot } from './verified-write.js';

/** The folder the file tools are confined to, and how much `read_file` returns. */
export interface FileToolsOptions {
  /** The only folder the tools may read or write. */
  root: string;
  /** Most bytes read_file returns. Default 1 MiB. */
  maxBytes?: number;
}

const pathArg = z.string().min(1).max(4096).describe('path relative to the workspace root');

/**
 * `read_file`, `list_dir` and `write_file`, confined to `root`: each opens first and then verifies
 * the opened object (see verified-open.ts), so a path changed between check and use is refused.
 */
export function createFileTools(options: FileToolsOptions): Tool[] {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const readFile = defineTool({
    name: 'read_file',
    description: 'Read a text file in the workspace.',
    input: z.object({ path: pathArg }),
    effects: 'read',
    run: async ({ path }) => {
      const handle = await openFileInsideRoot(options.root, path);
      try {
        const info = await handle.stat();
        const buffer = Buffer.alloc(Math.min(info.size, maxBytes));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
        const text = buffer.subarray(0, bytesRead).toString('utf8');
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
      const { path: real, root } = await resolveInsideRoot(options.root, path);
      const folder = await openFolderInsideRoot(root, real, path);
      try {
        const entries = await readdir(folder.path, { withFileTypes: true }).catch((error: unknown) => {
          throw pathError(error, path);
        });
        const lines = await Promise.all(
          entries
            .sort((a, b) => a.name.localeCompare(b.name))
            .map(async (entry) => {
              if (entry.isDirectory()) return `${entry.name}/`;
              if (entry.isSymbolicLink()) return `${entry.name} (symlink)`;
              // lstat, relative to the opened folder: an entry swapped for a symlink is never followed.
              const size = (await lstat(join(folder.path, entry.name)).catch(() => undefined))?.size ?? 0;
              return `${entry.name} (${size} bytes)`;
            }),
        );
        await folder.recheck();
        return lines.length ? lines.join('\n') : '(empty folder)';
      } finally {
        await folder.handle.close();
      }
    },
  });
  const writeFile = defineTool({
    name: 'write_file',
    description: 'Create or replace a text file in the workspace. The write is atomic.',
    input: z.object({ path: pathArg, content: z.string().max(10 * 1024 * 1024) }),
    effects: 'write',
    // Keyed: a call re-run after a crash finds its own write in place (the file holds exactly this
    // content) and leaves it; otherwise it writes. Either way the file ends as one write left it.
    idempotent: 'keyed',
    run: async ({ path, content }) => {
      const bytes = Buffer.byteLength(content);
      const landed = await holds(options.root, path, content, bytes);
      const { path: real, root } = landed
        ? await resolveInsideRoot(options.root, path)
        : await writeInsideRoot(options.root, path, content);
      return `Wrote ${bytes} bytes to ${relative(root, real)}`;
    },
  });
  return [readFile, listDir, writeFile];
}

/** Whether the file at `path` already holds exactly `content` (read through the same verified open). */
async function holds(root: string, path: string, content: string, bytes: number): Promise<boolean> {
  const handle = await openFileInsideRoot(root, path).catch(() => undefined);
  if (!handle) return false;
  try {
    if ((await handle.stat()).size !== bytes) return false;
    return (await handle.readFile('utf8')) === content;
  } finally {
    await handle.close();
  }
}
