import { join } from 'node:path';
import pc from 'picocolors';
import { CadreError, createLogger, loadConfig, type CadreConfig, type CadreConfigInput } from '../core/index.js';
import { createRouterFromConfig } from '../models/router-from-config.js';
import type { ModelRouter } from '../models/router.js';
import { loadApp } from '../app/index.js';
import { configuredRunStore, openConfiguredStore } from '../runtime/index.js';
import { createCadreMcpServer, runGoalWith, serveHttp, serveStdio, type RunGoal } from '../server/mcp/index.js';
import type { Memory } from '../../memory/index.js';
import {
  ToolPinStore,
  builtinTools,
  createMcpToolset,
  mcpPromptText,
  parseMcpServers,
  type McpToolset,
} from '../../tools/index.js';

async function toolsetOf(config: CadreConfig): Promise<McpToolset> {
  if (!config.mcpServers || Object.keys(config.mcpServers).length === 0) {
    throw new CadreError('config_invalid', 'No MCP servers configured: add "mcpServers" to cadre.config.json');
  }
  return createMcpToolset({
    servers: parseMcpServers(config.mcpServers),
    cachePath: join(config.dataDir, 'mcp-tools.json'),
    sandbox: { hide: [config.dataDir] },
    workspaceDir: config.workspaceDir,
    logger: createLogger({ level: config.logLevel }),
    oauthDir: join(config.dataDir, 'mcp-auth'),
  });
}

/** `cadre mcp list`: configured servers, their state and tools, with each tool's effects and pin. */
export async function listMcp(options: { config: CadreConfigInput; json: boolean }): Promise<number> {
  const config = loadConfig(options.config);
  const toolset = await toolsetOf(config);
  const pins = new ToolPinStore(openConfiguredStore(config).db);
  try {
    const tools = toolset
      .tools()
      .map((t) => ({ name: t.name, server: t.server, effects: t.effects, pin: pins.check(t).state }));
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ servers: toolset.status(), tools })}\n`);
      return 0;
    }
    for (const server of toolset.status()) {
      process.stdout.write(
        `${pc.bold(server.server)} ${pc.dim(`${server.state} · ${server.toolCount} tools${server.lastError ? ` · ${server.lastError}` : ''}`)}\n`,
      );
      for (const tool of tools.filter((t) => t.server === server.server)) {
        const pin =
          tool.pin === 'quarantined'
            ? pc.red('quarantined: changed since approved (cadre mcp approve)')
            : pc.dim(tool.pin);
        process.stdout.write(`  ${tool.name.padEnd(40)} ${tool.effects.padEnd(11)} ${pin}\n`);
      }
    }
    return 0;
  } finally {
    await toolset.close();
  }
}

/** `cadre mcp prompts [server]`: the prompts of one server or of all, with their arguments (`*` = required). */
export async function listMcpPrompts(options: {
  config: CadreConfigInput;
  server?: string;
  json: boolean;
}): Promise<number> {
  const config = loadConfig(options.config);
  const toolset = await toolsetOf(config);
  try {
    const prompts = await toolset.listPrompts(options.server);
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ prompts })}\n`);
      return 0;
    }
    if (prompts.length === 0) {
      process.stdout.write(
        `${options.server ? `MCP server "${options.server}" offers` : 'No MCP server offers'} no prompts\n`,
      );
      return 0;
    }
    for (const prompt of prompts) {
      const args = (prompt.arguments ?? []).map((a) => `${a.name}${a.required ? '*' : ''}`).join(' ');
      process.stdout.write(
        `${pc.bold(`${prompt.server}/${prompt.name}`)}${args ? ` ${args}` : ''}${prompt.description ? pc.dim(` · ${prompt.description}`) : ''}\n`,
      );
    }
    return 0;
  } finally {
    await toolset.close();
  }
}

/**
 * `cadre run --prompt <server>/<name>`: the goal a server's prompt makes, its arguments filled in,
 * with the command line's own goal (when one was given) after it.
 */
export async function promptGoal(options: {
  config: CadreConfigInput;
  prompt: string;
  args: Record<string, string>;
  goal?: string | undefined;
}): Promise<string> {
  const slash = options.prompt.indexOf('/');
  if (slash <= 0 || slash === options.prompt.length - 1)
    throw new CadreError('input_invalid', `--prompt takes <server>/<name>, e.g. code/review; got "${options.prompt}"`);
  const server = options.prompt.slice(0, slash);
  const toolset = await toolsetOf(loadConfig(options.config));
  try {
    const text = mcpPromptText(await toolset.getPrompt(server, options.prompt.slice(slash + 1), options.args), server);
    if (text.trim() === '')
      throw new CadreError('input_invalid', `The prompt ${options.prompt} has no text to use as a goal`);
    return options.goal ? `${text}\n\n${options.goal}` : text;
  } finally {
    await toolset.close();
  }
}

/** `cadre mcp approve <tool>`: trusts a tool's current name, description and schema again. */
export async function approveMcpTool(options: { config: CadreConfigInput; tool: string }): Promise<number> {
  const config = loadConfig(options.config);
  const toolset = await toolsetOf(config);
  try {
    const tool = toolset.tools().find((t) => t.name === options.tool);
    if (!tool) throw new CadreError('tool_not_found', `No MCP tool ${options.tool}; see cadre mcp list`);
    const pins = new ToolPinStore(openConfiguredStore(config).db);
    const before = pins.check(tool);
    if (before.state === 'new') pins.pin(tool);
    else pins.approve(tool.name);
    process.stdout.write(
      `${tool.name}: ${before.state === 'quarantined' ? `re-approved (${before.changes?.join(', ') ?? 'changed'})` : 'approved'}\n`,
    );
    return 0;
  } finally {
    await toolset.close();
  }
}

/**
 * `cadre mcp serve`: cadre's built-in tools and `run_goal` to any MCP client, over stdio or
 * Streamable HTTP on 127.0.0.1 (Origin and Host checked, optional bearer token, body size capped).
 * The store's runs are resources, the app registry's teams prompts, and memory is searchable.
 */
export async function serveMcp(options: {
  config: CadreConfigInput;
  http: boolean;
  port: number;
  token?: string;
  /** The app registry module (default: CADRE_APP or ./cadre.app.ts, .js, .mjs). */
  app?: string;
}): Promise<number> {
  const config = loadConfig(options.config);
  const tools = builtinTools({ root: config.workspaceDir, allowedHosts: config.httpAllowedHosts });
  const app = await loadApp(options.app ? { path: options.app } : {});
  const store = configuredRunStore(config);
  // Models are looked for on the first run_goal that needs them, so runs, prompts and the demo team
  // are served without one; a failed look is retried on the next call.
  let router: Promise<ModelRouter> | undefined;
  const routerOnce = () =>
    (router ??= createRouterFromConfig(config, { timeoutMs: config.detectTimeoutMs }).catch((error: unknown) => {
      router = undefined;
      throw error;
    }));
  const runGoal: RunGoal = async (goal, signal, context) => {
    const base = context?.team === undefined ? { router: await routerOnce() } : {};
    return runGoalWith({ config: options.config, ...base }, { app })(goal, signal, context);
  };
  // Memory (and its stores) loads on the first search: most sessions never search it.
  let memory: Promise<Memory> | undefined;
  const openMemory = async () => (await import('./run-goal.js')).openMemory(config);
  const search = { recall: async (query: string) => (await (memory ??= openMemory())).recall(query) };
  const create = () => createCadreMcpServer({ tools, runGoal, store, app, memory: search });
  if (!options.http) {
    await serveStdio(create());
    return 0;
  }
  const serving = await serveHttp(create, {
    port: options.port,
    ...(options.token ? { bearerToken: options.token } : {}),
  });
  process.stderr.write(`cadre MCP server at ${serving.url}${options.token ? ' (bearer token required)' : ''}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await serving.close();
  await (await memory)?.close();
  return 0;
}
