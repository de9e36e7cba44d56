import { execFile } from 'node:child_process';
import { CadreError } from '../../src/core/index.js';
import { findExecutable } from './find-executable.js';

const probeTimeoutMs = 10_000;
const checked = new Map<string, Promise<string>>();

/**
 * The real path of a bwrap that can create a sandbox here (checked once per path with a trial run,
 * since namespaces may be disabled even where bwrap is installed). Throws `sandbox_unavailable`.
 */
export function locateBwrap(bwrapPath?: string): Promise<string> {
  const key = bwrapPath ?? '';
  let found = checked.get(key);
  if (!found) {
    found = locate(bwrapPath);
    checked.set(key, found);
    // A failure is not cached: the user may install bubblewrap and try again.
    found.catch(() => checked.delete(key));
  }
  return found;
}

async function locate(bwrapPath: string | undefined): Promise<string> {
  const path = await findExecutable(bwrapPath ?? 'bwrap', bwrapPath ? undefined : process.env.PATH);
  if (!path) {
    const where = bwrapPath ? `at "${bwrapPath}"` : 'on PATH';
    throw new CadreError(
      'sandbox_unavailable',
      `The sandbox is on but bubblewrap (bwrap) was not found ${where}, so nothing was run. Install it ` +
        '(Debian/Ubuntu: apt-get install bubblewrap; Linux only) or turn the sandbox off explicitly with sandbox: false.',
      { details: { bwrapPath: bwrapPath ?? 'bwrap' } },
    );
  }
  const trueBin = await findExecutable('true', '/usr/bin:/bin');
  if (!trueBin) return path;
  const failure = await new Promise<string | undefined>((resolve) => {
    execFile(
      path,
      ['--unshare-all', '--die-with-parent', '--cap-drop', 'ALL', '--ro-bind', '/', '/', '--', trueBin],
      { timeout: probeTimeoutMs },
      (error, _stdout, stderr) => resolve(error ? String(stderr).trim() || error.message : undefined),
    );
  });
  if (failure) {
    throw new CadreError(
      'sandbox_unavailable',
      `bubblewrap at "${path}" cannot create a sandbox here (are unprivileged user namespaces disabled?): ${failure}`,
      { details: { bwrapPath: path } },
    );
  }
  return path;
}
