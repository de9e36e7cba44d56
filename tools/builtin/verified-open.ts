import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { fdPath, hasProcFd, openedLocation } from './opened-location.js';
import { outsideRootError, pathError, wrongKindError } from './path-errors.js';
import { isInsideRoot, resolveInsideRoot } from './path-guard.js';

const { O_DIRECTORY, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY } = constants;
// Linux's O_PATH, which Node does not export; it has this value on every architecture Node runs on.
const O_PATH = 0o10000000;

interface Expected {
  realRoot: string;
  real: string;
  userPath: string;
  kind: 'file' | 'folder';
}

/** Refuses the opened object unless it lies inside the root now and is of the expected kind. */
async function verifyOpened(handle: FileHandle, expected: Expected): Promise<void> {
  const where = await openedLocation(handle, expected.real);
  if (where === undefined || !isInsideRoot(expected.realRoot, where)) throw outsideRootError(expected.userPath);
  const info = await handle.stat();
  if (expected.kind === 'file' ? !info.isFile() : !info.isDirectory()) {
    throw wrongKindError(expected.userPath, expected.kind, info);
  }
}

/**
 * Opens a regular file inside `root` for reading. The opened object is what gets checked, so a
 * parent swapped for a symlink after the path check cannot redirect the read; FIFOs, sockets and
 * devices are refused without blocking.
 */
export async function openFileInsideRoot(root: string, userPath: string): Promise<FileHandle> {
  const { path: real, root: realRoot } = await resolveInsideRoot(root, userPath);
  const proc = await hasProcFd();
  // O_PATH pins the object without opening it: no FIFO wait and no device driver runs before the check.
  const flags = proc ? O_PATH | O_NOFOLLOW : O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY;
  const probe = await open(real, flags).catch((error: unknown) => {
    throw pathError(error, userPath);
  });
  let keep = false;
  try {
    await verifyOpened(probe, { realRoot, real, userPath, kind: 'file' });
    if (!proc) {
      keep = true;
      return probe;
    }
    // Reopening the magic link opens the very object just verified, never a path looked up again.
    return await open(fdPath(probe.fd), O_RDONLY | O_NONBLOCK | O_NOCTTY);
  } catch (error) {
    throw pathError(error, userPath);
  } finally {
    if (!keep) await probe.close();
  }
}

/** An opened folder verified inside the root, and a path that names that folder object itself. */
export interface VerifiedFolder {
  handle: FileHandle;
  /** `/proc/self/fd/<fd>` on Linux; elsewhere the real path that was checked (best effort). */
  path: string;
  /** Checks again that the folder is still inside the root (meaningful where there is no /proc). */
  recheck(): Promise<void>;
}

/** Opens the folder at the already resolved `real` path, without following a last symlink, and verifies it. */
export async function openFolderInsideRoot(realRoot: string, real: string, userPath: string): Promise<VerifiedFolder> {
  const handle = await open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW).catch((error: unknown) => {
    const errno = (error as NodeJS.ErrnoException).code;
    throw errno === 'ENOTDIR' ? wrongKindError(userPath, 'folder') : pathError(error, userPath);
  });
  const expected: Expected = { realRoot, real, userPath, kind: 'folder' };
  try {
    await verifyOpened(handle, expected);
  } catch (error) {
    await handle.close();
    throw pathError(error, userPath);
  }
  const path = (await hasProcFd()) ? fdPath(handle.fd) : real;
  return { handle, path, recheck: () => verifyOpened(handle, expected) };
}
