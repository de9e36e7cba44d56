import { access, type FileHandle, readlink, realpath, stat } from 'node:fs/promises';

let procFd: Promise<boolean> | undefined;

/** True where `/proc/self/fd/<fd>` names the opened object itself: Linux with /proc mounted. */
export function hasProcFd(): Promise<boolean> {
  procFd ??=
    process.platform === 'linux'
      ? access('/proc/self/fd').then(
          () => true,
          () => false,
        )
      : Promise.resolve(false);
  return procFd;
}

/** `/proc/self/fd/<fd>`: resolving it reaches the opened object, whatever has since happened to its path. */
export const fdPath = (fd: number): string => `/proc/self/fd/${fd}`;

/**
 * Where the object behind `handle` is now. On Linux this is the kernel's own answer for the
 * descriptor. Elsewhere it is `expected` resolved again, returned only if that still names the
 * same object (device and inode), else undefined: a best-effort check with a window before it.
 */
export async function openedLocation(handle: FileHandle, expected: string): Promise<string | undefined> {
  if (await hasProcFd()) return readlink(fdPath(handle.fd));
  const opened = await handle.stat();
  const now = await realpath(expected).catch(() => undefined);
  if (now === undefined) return undefined;
  const found = await stat(now).catch(() => undefined);
  return found && found.dev === opened.dev && found.ino === opened.ino ? now : undefined;
}
