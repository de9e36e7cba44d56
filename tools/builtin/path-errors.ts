import type { Stats } from 'node:fs';
import { CadreError } from '../../src/core/index.js';

/** The error for a path that leads, or was found to lead, outside the tools' root. */
export function outsideRootError(userPath: string): CadreError {
  return new CadreError('path_outside_root', `Path "${userPath}" is outside the folder these tools may use`, {
    details: { path: userPath },
  });
}

const describe = (info: Stats): string =>
  info.isDirectory()
    ? 'a folder'
    : info.isFile()
      ? 'a file'
      : info.isSymbolicLink()
        ? 'a symlink'
        : info.isFIFO()
          ? 'a FIFO'
          : info.isSocket()
            ? 'a socket'
            : info.isCharacterDevice()
              ? 'a character device'
              : info.isBlockDevice()
                ? 'a block device'
                : 'of an unknown kind';

/** The error for an object of the wrong kind: a FIFO, socket or device where a file or folder was expected. */
export function wrongKindError(userPath: string, expected: 'file' | 'folder', info?: Stats): CadreError {
  const actual = info ? describe(info) : undefined;
  return new CadreError('input_invalid', `"${userPath}" is not a ${expected}${actual ? ` (it is ${actual})` : ''}`, {
    details: { path: userPath, expected, ...(actual ? { actual } : {}) },
  });
}

// Errors that say the path itself cannot name anything usable.
const invalidPath: Readonly<Record<string, string>> = {
  ELOOP: 'runs into a symlink loop, or a symlink that appeared while it was being opened',
  ENAMETOOLONG: 'is too long',
  ENOTDIR: 'goes through something that is not a folder',
  EINVAL: 'is not a valid path',
};

// Errors that say the path names something these tools do not read or write.
const wrongKind: Readonly<Record<string, string>> = {
  EISDIR: 'is a folder',
  ENXIO: 'is not a regular file',
  ENODEV: 'is not a regular file',
  EOPNOTSUPP: 'is not a regular file',
  ENOENT: 'does not exist',
};

/**
 * Turns a failed fs call on `userPath` into a CadreError with a code callers can branch on; the
 * message names the caller's path, never the real one on disk.
 */
export function pathError(error: unknown, userPath: string): CadreError {
  if (CadreError.isInstance(error)) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  const details = { path: userPath, errno };
  const invalid = invalidPath[errno];
  if (invalid) return new CadreError('path_invalid', `Path "${userPath}" ${invalid}`, { details, cause: error });
  const kind = wrongKind[errno];
  if (kind) return new CadreError('input_invalid', `"${userPath}" ${kind}`, { details, cause: error });
  return CadreError.from(error, 'tool_failed');
}
