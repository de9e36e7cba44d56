import { access, constants, realpath } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

/** Finds the real path of an executable the way a shell would: absolute as is, else the first on PATH. */
export async function findExecutable(command: string, pathVar: string | undefined): Promise<string | undefined> {
  const candidates = isAbsolute(command)
    ? [command]
    : command.includes('/')
      ? []
      : (pathVar ?? '')
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return await realpath(candidate);
    } catch {
      // not here; try the next PATH entry
    }
  }
  return undefined;
}
