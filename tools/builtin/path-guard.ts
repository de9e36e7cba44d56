import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { CadreError } from '../../src/core/index.js';

const inside = (root: string, target: string) => {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/**
 * Resolves a user-supplied path inside `root` and returns its real location, refusing null bytes,
 * `..` escapes, absolute paths elsewhere and symlinks (of the file or any parent) that lead out.
 * For a path that does not exist yet, its nearest existing parent is checked instead.
 */
export async function resolveInsideRoot(root: string, userPath: string): Promise<{ path: string; root: string }> {
  if (typeof userPath !== 'string' || userPath.includes('\0')) {
    throw new CadreError('path_invalid', 'Path contains a null byte');
  }
  const realRoot = await realpath(root);
  const candidate = resolve(realRoot, userPath);
  if (!inside(realRoot, candidate)) throw outside(userPath);
  let existing = candidate;
  const missing: string[] = [];
  for (;;) {
    try {
      existing = await realpath(existing);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.unshift(basename(existing));
      existing = dirname(existing);
    }
  }
  const real = join(existing, ...missing);
  if (!inside(realRoot, real)) throw outside(userPath);
  return { path: real, root: realRoot };
}

const outside = (userPath: string) =>
  new CadreError('path_outside_root', `Path "${userPath}" is outside the folder these tools may use`, { details: { path: userPath } });
