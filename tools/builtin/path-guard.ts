import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { CadreError } from '../../src/core/index.js';
import { outsideRootError, pathError } from './path-errors.js';

/** True when `target` is `root` or lies below it (both absolute, already resolved). */
export function isInsideRoot(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Resolves a user-supplied path inside `root` and returns its real location, refusing null bytes,
 * `..` escapes, absolute paths elsewhere and symlinks (of the file or any parent) that lead out.
 * For a path that does not exist yet, its nearest existing parent is checked instead. Throws only
 * CadreErrors. This is a check of paths at one moment: to act on the checked object itself, use
 * the file tools' open-then-verify helpers (verified-open.ts).
 */
export async function resolveInsideRoot(root: string, userPath: string): Promise<{ path: string; root: string }> {
  if (typeof userPath !== 'string' || userPath.includes('\0')) {
    throw new CadreError('path_invalid', 'Path contains a null byte');
  }
  const realRoot = await realpath(root).catch((error: unknown) => {
    throw new CadreError('config_invalid', `The tools' root folder "${root}" cannot be used`, {
      cause: error,
      details: { root },
    });
  });
  const candidate = resolve(realRoot, userPath);
  if (!isInsideRoot(realRoot, candidate)) throw outsideRootError(userPath);
  let existing = candidate;
  const missing: string[] = [];
  for (;;) {
    try {
      existing = await realpath(existing);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw pathError(error, userPath);
      missing.unshift(basename(existing));
      existing = dirname(existing);
    }
  }
  const real = join(existing, ...missing);
  if (!isInsideRoot(realRoot, real)) throw outsideRootError(userPath);
  return { path: real, root: realRoot };
}
