import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CadreError } from '../../src/core/index.js';
import { openedLocation } from './opened-location.js';
import { outsideRootError, pathError, wrongKindError } from './path-errors.js';
import { isInsideRoot, resolveInsideRoot } from './path-guard.js';
import { openFolderInsideRoot } from './verified-open.js';

const { O_CREAT, O_EXCL, O_NOCTTY, O_NOFOLLOW, O_WRONLY } = constants;

/**
 * Atomically creates or replaces the file at `userPath` inside `root`: the temp file and the rename
 * both go through the verified parent folder, and the written file is checked again once in place.
 * Returns the real paths it wrote to.
 */
export async function writeInsideRoot(
  root: string,
  userPath: string,
  content: string,
): Promise<{ path: string; root: string }> {
  const { path: real, root: realRoot } = await resolveInsideRoot(root, userPath);
  if (real === realRoot) throw wrongKindError(userPath, 'file');
  const folder = await openFolderInsideRoot(realRoot, dirname(real), userPath).catch((error: unknown) => {
    if (!CadreError.isInstance(error) || error.details.errno !== 'ENOENT') throw error;
    throw new CadreError('input_invalid', `The folder for "${userPath}" does not exist`, {
      details: error.details,
      cause: error,
    });
  });
  try {
    const name = basename(real);
    const target = join(folder.path, name);
    await refuseSpecialTarget(target, userPath);
    const temp = join(folder.path, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, 0o644).catch(
      (error: unknown) => {
        throw pathError(error, userPath);
      },
    );
    let placed = false;
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
      await folder.recheck();
      await rename(temp, target);
      placed = true;
      // The written file itself says where it ended up, so a folder moved out meanwhile is caught.
      const where = await openedLocation(handle, real);
      if (where === undefined || !isInsideRoot(realRoot, where)) {
        await removeIfOurs(handle, target);
        throw outsideRootError(userPath);
      }
    } catch (error) {
      if (!placed) await unlink(temp).catch(() => undefined);
      throw pathError(error, userPath);
    } finally {
      await handle.close();
    }
  } finally {
    await folder.handle.close();
  }
  return { path: real, root: realRoot };
}

/** A FIFO, socket, device or folder in the target's place is left alone; a file or symlink entry is replaced. */
async function refuseSpecialTarget(target: string, userPath: string): Promise<void> {
  const info = await lstat(target).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw pathError(error, userPath);
  });
  if (info && !info.isFile() && !info.isSymbolicLink()) throw wrongKindError(userPath, 'file', info);
}

/** Removes `target` only while it is still the file this call wrote, never someone else's. */
async function removeIfOurs(handle: FileHandle, target: string): Promise<void> {
  const [ours, there] = await Promise.all([handle.stat(), lstat(target).catch(() => undefined)]);
  if (there && there.dev === ours.dev && there.ino === ours.ino) await unlink(target).catch(() => undefined);
}
