import pc from 'picocolors';
import { loadConfig, type CadreConfigInput } from '../core/index.js';
import { loadApp } from '../app/index.js';
import { createHttpApi, serveHttpApi } from '../server/http/index.js';
import { packageVersion } from './package-version.js';

/** What `cadre serve` is given on its command line. */
export interface ServeOptions {
  config: CadreConfigInput;
  /** The app module (default `CADRE_APP`, else cadre.app.ts / .js / .mjs in the working folder). */
  app?: string;
  port?: number;
  host?: string;
  /** Jobs the server's own worker runs at once (0: none). */
  workers?: number;
}

/**
 * `cadre serve`: the HTTP API over the app registry, on 127.0.0.1:7700 by default. Prints an API key
 * on the first start (when no key exists); SIGINT or SIGTERM stops it gracefully.
 */
export async function serve(options: ServeOptions): Promise<number> {
  const app = await loadApp(options.app ? { path: options.app } : {});
  const api = createHttpApi({
    app,
    config: options.config,
    server: {
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host ? { host: options.host } : {}),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
    },
    version: packageVersion(),
  });
  const serving = await serveHttpApi(api);
  if (!(await api.keys.hasLiveKey())) {
    const key = await api.keys.create({ name: 'first' });
    process.stdout.write(
      `${pc.bold('API key')} (shown once; more with ${pc.cyan('cadre keys create')}):\n${key.key}\n\n`,
    );
  }
  const teams = [...app.teams.keys()].join(', ');
  const agents = [...app.agents.keys()].join(', ');
  process.stderr.write(
    `cadre serving ${pc.bold(serving.url)} (runs in ${loadConfig(options.config).dataDir}) · teams: ${teams}${agents ? ` · agents: ${agents}` : ''}\n`,
  );
  const { resumed, failed } = serving.redriven;
  if (resumed.length) process.stderr.write(`Resumed ${resumed.length} run(s) left running by a stopped process\n`);
  for (const { runId, error } of failed)
    process.stderr.write(pc.yellow(`Could not resume run ${runId} (${error.code}): ${error.message}\n`));
  if (!['127.0.0.1', 'localhost', '::1'].includes(api.options.host))
    process.stderr.write(pc.yellow(`Listening on ${api.options.host}: other machines can reach this server.\n`));
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  process.stderr.write(`${signal} received: stopping runs at their next step (resumable), closing streams\n`);
  await serving.close(`${signal} received by cadre serve`);
  return 0;
}
