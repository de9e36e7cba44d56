import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { CadreApp } from '../../app/index.js';
import { CadreError } from '../../core/index.js';
import type { Tool } from '../../../tools/define-tool.js';
import { ToolExecutor, type ToolExecutorOptions } from '../../../tools/tool-executor.js';
import { idempotencyMetaKey } from '../../../tools/mcp/index.js';
import { clientLog } from './client-log.js';
import type { RunGoal } from './run-goal.js';
import { registerRunGoal } from './run-goal-tool.js';
import { registerRunResources, type MemorySearch } from './run-resources.js';
import type { RunStore, RunWatch } from './run-watch.js';
import { registerTeamPrompts } from './team-prompts.js';

export interface CadreMcpServerOptions {
  /** Cadre tools offered to MCP clients, each run through a ToolExecutor (validation, timeout, output cap). */
  tools: readonly Tool[];
  /**
   * When given, a `run_goal` tool runs a whole cadre run and returns its answer. The callback gets
   * the team the client named (with `app`) and a hook to report the run's id (see `runGoalWith`).
   */
  runGoal?: RunGoal;
  /** Server name and version reported at initialize. */
  name?: string;
  version?: string;
  /** Executor settings (timeout, output cap, policy and approval guards) for every MCP tool call. */
  executor?: Omit<ToolExecutorOptions, 'tools'>;
  /**
   * Cadre's store (`configuredRunStore(config)`, or a `CadreStore`): its runs become resources
   * (`cadre://runs/{runId}`, `cadre://runs/{runId}/events`) that clients list, read, complete and
   * subscribe to.
   */
  store?: RunStore;
  /**
   * The app registry (`loadApp()`): with `runGoal`, each team becomes a prompt taking a `goal`, and
   * `run_goal` takes the team to run.
   */
  app?: CadreApp;
  /** Memory to search through `cadre://memory/search?q=...` (e.g. `createMemory()`). */
  memory?: MemorySearch;
  /** Runs per `resources/list` page. Default 50. */
  pageSize?: number;
  /** How often the store is looked at for new runs and changes to subscribed runs. Default 1000 ms; 0 turns it off. */
  watchIntervalMs?: number;
}

const text = (value: string, isError = false): CallToolResult => ({
  content: [{ type: 'text', text: value }],
  ...(isError ? { isError: true } : {}),
});

/** The MCP hints a client shows its user: what the tool changes, and whether repeating it is safe. */
function annotationsFor(tool: Tool): ToolAnnotations {
  return {
    readOnlyHint: tool.effects === 'read',
    destructiveHint: tool.effects === 'destructive',
    // A keyed tool is safe to repeat only with the same idempotency key, which a client need not send.
    idempotentHint: tool.idempotent === true,
    // Built-in tools that reach outside (http_fetch) say so in their description; default to closed.
    openWorldHint: false,
  };
}

/**
 * An MCP server (SDK `McpServer`) offering cadre tools and, optionally, `run_goal`, the store's runs
 * as resources, the app's teams as prompts, completions for both, and log messages at the level
 * the client sets. One instance serves one client session; `serveHttp` takes a factory to serve many.
 */
export function createCadreMcpServer(options: CadreMcpServerOptions): McpServer {
  const server = new McpServer(
    { name: options.name ?? 'cadre', version: options.version ?? '0.1.0' },
    { capabilities: { logging: {} } },
  );
  const log = clientLog(server);
  const executor = new ToolExecutor({ ...options.executor, tools: options.tools });
  for (const tool of options.tools) {
    server.registerTool(
      tool.name,
      { description: tool.description, inputSchema: tool.input, annotations: annotationsFor(tool) },
      async (args, extra) => {
        // MCP calls are not part of a cadre run; ids only label the executor's events. A client's
        // idempotency key reaches keyed tools, so the client's own retries do not repeat an effect.
        const key = extra._meta?.[idempotencyMetaKey];
        const outcome = await executor.execute(
          { id: randomUUID(), name: tool.name, args },
          {
            runId: 'mcp',
            taskId: String(extra.sessionId ?? 'mcp'),
            step: 0,
            signal: extra.signal,
            ...(typeof key === 'string' && key ? { idempotencyKey: key } : {}),
          },
        );
        if (!outcome.ok)
          log(extra, 'warning', {
            message: `tool ${tool.name} failed`,
            tool: tool.name,
            code: outcome.error?.code,
            error: outcome.error?.message,
          });
        return text(outcome.output, !outcome.ok);
      },
    );
  }
  const store = options.store;
  const pageSize = options.pageSize ?? 50;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1)
    throw new CadreError('input_invalid', `pageSize must be a positive integer, not ${pageSize}`);
  const watch: RunWatch | undefined = store
    ? registerRunResources(server, {
        store,
        pageSize,
        watchIntervalMs: options.watchIntervalMs ?? 1000,
        ...(options.memory ? { memory: options.memory } : {}),
      })
    : undefined;
  const teams = options.runGoal && options.app ? [...options.app.teams.keys()] : [];
  if (options.runGoal)
    registerRunGoal(server, options.runGoal, {
      teams,
      log,
      watch,
      linkRuns: store !== undefined,
      destructive: options.tools.some((t) => t.effects === 'destructive'),
    });
  if (teams.length > 0) registerTeamPrompts(server, { teams, ...(store ? { store } : {}) });
  // Tools and prompts are fixed for the server's life: say so, whatever the SDK declares by default.
  if (options.tools.length > 0 || options.runGoal)
    server.server.registerCapabilities({ tools: { listChanged: false } });
  if (teams.length > 0) server.server.registerCapabilities({ prompts: { listChanged: false } });
  return server;
}
