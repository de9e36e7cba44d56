import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CadreError } from '../core/index.js';
import { defineApp, isCadreApp, type CadreApp, type TeamDefinition } from './define-app.js';

/** Where {@link loadApp} looks for the app module, and in which folder. */
export interface LoadAppOptions {
  /** The module to load; default `CADRE_APP`, else `cadre.app.ts`, `.js` or `.mjs` in `cwd`. */
  path?: string;
  /** Default: the working folder. */
  cwd?: string;
  /** Default: `process.env` (for `CADRE_APP`). */
  env?: NodeJS.ProcessEnv;
}

/** The module names looked for in the working folder, in order. */
export const defaultAppFiles = ['cadre.app.ts', 'cadre.app.js', 'cadre.app.mjs'] as const;

/**
 * The built-in `demo` team: the demo's roles over the built-in tools, on the scripted models of
 * `cadre/testing` (no network). Loaded on first use, so the registry stays light.
 */
const demoTeam: TeamDefinition = async ({ config }) => {
  const [{ createDefaultTeam }, { createDemoRouter }] = await Promise.all([
    import('./demo-team.js'),
    import('./demo-model.js'),
  ]);
  return { roles: createDefaultTeam(config), router: createDemoRouter() };
};

/** `app` with the built-in teams added (the app's own team of the same name wins). */
export function withBuiltins(app?: CadreApp): CadreApp {
  return defineApp({
    teams: { demo: demoTeam, ...Object.fromEntries(app?.teams ?? []) },
    agents: Object.fromEntries(app?.agents ?? []),
  });
}

/**
 * Loads the app registry the user names: `path`, else `CADRE_APP`, else `cadre.app.ts` / `.js` /
 * `.mjs` in the working folder; with none of them, only the built-in teams. The module exports
 * `defineApp({...})` as its default (or as `app`). A named file that is missing is `app_not_found`;
 * one that fails to load or exports no app is `app_invalid`.
 */
export async function loadApp(options: LoadAppOptions | string = {}): Promise<CadreApp> {
  const {
    path: given,
    cwd = process.cwd(),
    env = process.env,
  } = typeof options === 'string' ? { path: options } : options;
  const named = given ?? (env.CADRE_APP || undefined);
  const path = named
    ? resolve(cwd, named)
    : defaultAppFiles.map((file) => resolve(cwd, file)).find((file) => existsSync(file));
  if (path === undefined) return withBuiltins();
  if (!existsSync(path))
    throw new CadreError('app_not_found', `No app module at ${path}${given ? '' : ' (from CADRE_APP)'}`, {
      details: { path },
    });
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new CadreError('app_invalid', `Cannot load the app module ${path}: ${loadFailure(error, path)}`, {
      cause: error,
      details: { path },
    });
  }
  const app = module.default ?? module.app;
  if (!isCadreApp(app))
    throw new CadreError(
      'app_invalid',
      `${path} exports no app: end it with \`export default defineApp({ teams: {...}, agents: {...} })\``,
      { details: { path } },
    );
  return withBuiltins(app);
}

function loadFailure(error: unknown, path: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  // Node 20 runs no TypeScript by itself; 22.18 and later strip types by default.
  if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && path.endsWith('.ts'))
    return 'this Node cannot import TypeScript: start cadre with the tsx loader (`node --import tsx`), use Node 22.18 or later, or compile the app to cadre.app.js';
  return error instanceof Error ? error.message : String(error);
}
