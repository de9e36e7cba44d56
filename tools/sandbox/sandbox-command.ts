import { lstat, readlink, realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { CadreError } from '../../src/core/index.js';
import { isInsideRoot } from '../builtin/path-guard.js';
import { bwrapArgs, systemDirs } from './bwrap-args.js';
import { findExecutable } from './find-executable.js';
import { locateBwrap } from './locate-bwrap.js';

/** What a sandboxed program may reach besides the read-only system folders. */
export interface SandboxOptions {
  /** Keep the host's network. Default false: the program sees only a loopback of its own. */
  network?: boolean;
  /** Folders or files it may read; absolute, or relative to its working folder. */
  read?: readonly string[];
  /** Folders it may read and write. */
  write?: readonly string[];
  /**
   * Paths masked with an empty folder even inside a granted one, and never grantable. Default:
   * cadre's data dir (`$CADRE_DATA_DIR`, else `./.cadre`). The home folder is hidden in any case.
   */
  hide?: readonly string[];
  /** The bubblewrap executable. Default: `bwrap` on PATH. */
  bwrapPath?: string;
}

/** A program to start: the executable, its literal arguments, its working folder and its environment. */
export interface SandboxCommand {
  file: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** cadre's data dir when nobody says where it is: the config default, or its environment variable. */
export const defaultDataDir = (): string => resolve(process.env.CADRE_DATA_DIR ?? '.cadre');

/**
 * Rewrites a command to run under bubblewrap: read-only system, no network unless allowed, writes
 * only to `write`, a private /tmp, no home folder and no data dir. Throws `sandbox_unavailable` when
 * bwrap is missing or cannot create a sandbox here — never falls back to running unsandboxed — and
 * `config_invalid` for a grant that would expose the home folder or a hidden path.
 */
export async function sandboxCommand(command: SandboxCommand, options: SandboxOptions = {}): Promise<SandboxCommand> {
  const bwrap = await locateBwrap(options.bwrapPath);
  const cwd = await existing(command.cwd, 'working folder');
  const grant = (paths: readonly string[] | undefined, what: string) =>
    Promise.all((paths ?? []).map((path) => existing(resolve(cwd, path), what)));
  const [write, read, hide, homes, system] = await Promise.all([
    grant(options.write, 'writable folder'),
    grant(options.read, 'readable path'),
    realpaths(options.hide ?? [defaultDataDir()]),
    realpaths([command.env.HOME, process.env.HOME, homedir()]).then((paths) => paths.filter((p) => p !== '/')),
    systemLayout(),
  ]);
  for (const path of [...write, ...read]) refuseGrant(path, homes, hide);
  const file = (await findExecutable(command.file, command.env.PATH ?? process.env.PATH)) ?? command.file;
  const visible = [...system.folders, ...write, ...read];
  if (!visible.some((dir) => isInsideRoot(dir, cwd))) {
    throw new CadreError('config_invalid', `sandbox: the working folder "${cwd}" is not inside a granted folder`, {
      details: { cwd },
    });
  }
  // The program itself must be readable; a grant of just its file reveals nothing else.
  if (!visible.some((dir) => isInsideRoot(dir, file))) read.push(file);
  const args = bwrapArgs({
    network: options.network ?? false,
    systemLinks: system.links,
    systemFolders: system.folders,
    read,
    write,
    homes,
    // Elsewhere a hidden path is missing anyway; masking it would only add an empty folder.
    hide: hide.filter((hidden) => [...write, ...read].some((granted) => isInsideRoot(granted, hidden))),
    cwd,
    file,
    args: command.args,
  });
  return { file: bwrap, args, cwd, env: command.env };
}

function refuseGrant(path: string, homes: readonly string[], hide: readonly string[]): void {
  const refuse = (reason: string) =>
    new CadreError('config_invalid', `sandbox: "${path}" cannot be granted: ${reason}`, { details: { path } });
  if (path === '/') throw refuse('that is the whole file system');
  if (homes.includes(path)) throw refuse('that is the whole home folder; grant the folders inside it you need');
  if (hide.some((hidden) => isInsideRoot(hidden, path))) throw refuse('it is a hidden path such as the data dir');
}

async function existing(path: string, what: string): Promise<string> {
  return realpath(path).catch((error: unknown) => {
    throw new CadreError('config_invalid', `sandbox: the ${what} "${path}" does not exist`, {
      cause: error,
      details: { path },
    });
  });
}

/** Real paths of those that exist; a missing path has nothing to hide. */
async function realpaths(paths: readonly (string | undefined)[]): Promise<string[]> {
  const found = await Promise.all(
    paths.filter((p): p is string => Boolean(p)).map((p) => realpath(resolve(p)).catch(() => undefined)),
  );
  return [...new Set(found.filter((p): p is string => p !== undefined))];
}

interface SystemLayout {
  folders: string[];
  links: Map<string, string>;
}
let layout: Promise<SystemLayout> | undefined;

/** Which system folders are folders and which are symlinks; read once, the layout does not change. */
function systemLayout(): Promise<SystemLayout> {
  return (layout ??= (async () => {
    const folders: string[] = [];
    const links = new Map<string, string>();
    for (const dir of systemDirs) {
      const stat = await lstat(dir).catch(() => undefined);
      if (stat?.isSymbolicLink()) links.set(dir, await readlink(dir));
      else if (stat?.isDirectory()) folders.push(dir);
    }
    return { folders, links };
  })());
}
