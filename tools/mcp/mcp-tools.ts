import type {
  GetPromptResult,
  Prompt,
  ReadResourceResult,
  Resource,
  ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CadreError, type ErrorInfo, type Logger } from '../../src/core/index.js';
import { defineTool, type Tool, type ToolInputSchema } from '../define-tool.js';
import { StructuredOutput } from '../structured-output.js';
import type { McpServerConfig, McpServersConfig } from './mcp-config.js';
import type { McpSandboxSettings } from './mcp-sandbox.js';
import { delimitUntrusted } from '../policy/untrusted.js';
import type { McpElicitHandler, McpSamplingHandler, McpServerRequestEvent } from './mcp-client-setup.js';
import { mcpResourceText, mcpResultText } from './mcp-result-text.js';
import type { McpResourceListener } from './mcp-resource-subscriptions.js';
import { McpServerConnection, type McpServerState } from './mcp-server-connection.js';
import { checkedStructuredContent } from './mcp-structured-result.js';
import type { McpToolInfo } from './mcp-tool-info.js';
import { McpToolCache } from './mcp-tool-cache.js';
import { McpOAuthStore } from './mcp-oauth-store.js';
import { McpToolNames } from './tool-names.js';

/**
 * A cadre tool backed by an MCP server; `jsonSchema` is the server's input schema, kept for
 * validation. With an `outputSchema`, `run` returns a `StructuredOutput`: the result's text for
 * the model (its `structuredContent` as JSON when it has no text) and the checked
 * `structuredContent` for code.
 */
export type McpTool = Tool & {
  readonly jsonSchema: Record<string, unknown>;
  readonly outputSchema?: Record<string, unknown>;
  readonly server: string;
  readonly mcpName: string;
};

/** What the toolset reports as it works. */
export type McpEvent =
  | { type: 'mcp.state'; server: string; state: McpServerState; error?: ErrorInfo }
  | { type: 'mcp.tools_changed'; server: string; tools: string[] }
  | {
      type: 'mcp.progress';
      server: string;
      tool: string;
      callId: string;
      progress: number;
      total?: number;
      message?: string;
    }
  | McpServerRequestEvent;

/** A tool call about to be made on a server, as the toolset's `watchCall` is told of it. */
export interface McpToolCall {
  server: string;
  /** The server's name for the tool. */
  tool: string;
  taskId: string;
  callId: string;
}

/**
 * Called when a watched call has returned, still inside the call: `'again'` makes the call once
 * more; a throw ends the call with that error.
 */
export type McpCallEnd = () => 'again' | 'done';

/** One server as `cadre mcp` shows it: state, process id, how many tools it offers, and the last error. */
export interface McpServerStatus {
  server: string;
  state: McpServerState;
  pid?: number;
  toolCount: number;
  lastError?: string;
  /** The code of the last error, e.g. `mcp_auth_required` for a server that needs `cadre mcp login`. */
  lastErrorCode?: string;
}

/** The servers of a toolset, where their tool lists are cached, and a listener for what happens. */
export interface McpToolsetOptions {
  servers: McpServersConfig;
  /** JSON file caching each server's tool list, e.g. `.cadre/mcp-tools.json`. Without it every server is started once. */
  cachePath?: string;
  /** Told of state changes, tool list changes and progress. */
  onEvent?: (event: McpEvent) => void;
  /** For servers with `sandbox` on: where bwrap is, and what they never see (pass the data dir). */
  sandbox?: McpSandboxSettings;
  /** Offered to every server as its first root (`roots/list`); pass the config's `workspaceDir`. */
  workspaceDir?: string;
  /** Receives servers' log messages (`notifications/message`). Default: cadre's logger. */
  logger?: Logger;
  /**
   * Answers `sampling/createMessage` from servers whose config says `sampling: true`. Without it
   * those requests are refused with an error saying so; other servers are never offered sampling.
   */
  sampling?: McpSamplingHandler;
  /** Answers `elicitation/create`. Without it every request is declined, with the reason in `_meta`. */
  elicit?: McpElicitHandler;
  /**
   * Told as each tool call starts; what it returns is called when the call has returned. A run
   * that stops for a server's question (`approveTool: 'interrupt'`) uses it: its `elicit` notes the
   * question and cancels it, the call's end stops the run until a person answers, and the call is
   * then made again, for the server to ask again and get the answer.
   */
  watchCall?: (call: McpToolCall) => McpCallEnd;
  /**
   * Where `cadre mcp login` keeps OAuth logins (the data dir's `mcp-auth`): an HTTP server that
   * answers 401 gets its saved tokens, refreshed when they expire. Without it such a server fails.
   */
  oauthDir?: string;
}

/** A prompt and the server offering it. */
export type McpPromptInfo = Prompt & { server: string };
/** A resource and the server offering it. */
export type McpResourceInfo = Resource & { server: string };
/** A resource URI template and the server offering it. */
export type McpResourceTemplateInfo = ResourceTemplate & { server: string };

/** A resource as read: the server's contents, and their text wrapped as untrusted data for a model. */
export interface McpResourceContents {
  contents: ReadResourceResult['contents'];
  /** The contents as text inside `<tool_output untrusted="true">` delimiters (see `delimitUntrusted`). */
  text: string;
}

/** The tools of a set of MCP servers, and control over the servers. */
export interface McpToolset {
  /** Every MCP tool as a cadre tool, named `<server>__<tool>` (made provider-safe). */
  tools(): McpTool[];
  /** `mcp_read_resource`: reads a resource by server and URI. */
  resourceTool(): Tool;
  /** Prompts of one server, or of every server that offers prompts. */
  listPrompts(server?: string, signal?: AbortSignal): Promise<McpPromptInfo[]>;
  /** One prompt's messages, its arguments filled in. */
  getPrompt(
    server: string,
    name: string,
    args?: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<GetPromptResult>;
  /** Resources of one server, or of every server that offers resources. */
  listResources(server?: string, signal?: AbortSignal): Promise<McpResourceInfo[]>;
  /** Resource URI templates of one server, or of every server that offers resources. */
  listResourceTemplates(server?: string, signal?: AbortSignal): Promise<McpResourceTemplateInfo[]>;
  /** Reads one resource; hand agents its `text`, which marks it as data, not instructions. */
  readResource(server: string, uri: string, signal?: AbortSignal): Promise<McpResourceContents>;
  /** Subscribes to one resource's changes; resolves to the function that unsubscribes. */
  subscribeResource(server: string, uri: string, onUpdated: McpResourceListener): Promise<() => Promise<void>>;
  /** Each server's state now; starts nothing. */
  status(): McpServerStatus[];
  /** Connects to every server and re-lists its tools (starts servers that are not running). */
  refresh(): Promise<void>;
  /** Stops every server. */
  close(): Promise<void>;
}

// The server's JSON Schema is authoritative; zod only has to let the arguments through untouched.
const permissiveInput = z.looseObject({}) as unknown as ToolInputSchema;

/**
 * Connects cadre to MCP servers. Servers start lazily on the first call; their tool lists come
 * from the cache at `cachePath`. Servers missing from the cache (or whose config changed) are
 * started once here to list their tools, then stop after their idle timeout.
 */
export async function createMcpToolset(options: McpToolsetOptions): Promise<McpToolset> {
  const cache = await McpToolCache.load(options.cachePath);
  const emit = (event: McpEvent): void => options.onEvent?.(event);
  const lists = new Map<string, McpToolInfo[]>();
  let built: McpTool[] | undefined;

  const oauthStore = options.oauthDir ? new McpOAuthStore(options.oauthDir) : undefined;
  const connections = new Map<string, McpServerConnection>();
  /** What every connection shares; `onTools` and the state's server name are each connection's own. */
  const connectionOf = (
    name: string,
    config: McpServerConfig,
    own: Pick<ConstructorParameters<typeof McpServerConnection>[0], 'onTools' | 'onStateChange'>,
  ) =>
    new McpServerConnection({
      name,
      config,
      ...(options.sandbox ? { sandbox: options.sandbox } : {}),
      ...(options.workspaceDir !== undefined ? { workspaceDir: options.workspaceDir } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.sampling ? { sampling: options.sampling } : {}),
      ...(options.elicit ? { elicit: options.elicit } : {}),
      ...(oauthStore ? { oauthStore } : {}),
      onRequest: emit,
      ...own,
    });
  const stateOf =
    (server: string) =>
    (state: McpServerState, error?: CadreError): void =>
      emit({
        type: 'mcp.state',
        server,
        state,
        ...(error ? { error: { code: error.code, kind: error.kind, message: error.message } } : {}),
      });
  for (const [server, config] of Object.entries(options.servers)) {
    const cached = cache.get(server, config);
    if (cached) lists.set(server, cached);
    connections.set(
      server,
      connectionOf(server, config, {
        onTools: (tools) => {
          lists.set(server, tools);
          built = undefined;
          void cache.set(server, config, tools).catch(() => undefined);
          emit({ type: 'mcp.tools_changed', server, tools: tools.map((t) => t.name) });
        },
        onStateChange: stateOf(server),
      }),
    );
  }
  /**
   * The instance of `server` an agent of `role` reaches: its own when the server's `roleRoots`
   * names the role (started on its first call, offered those roots), else the shared one.
   */
  const roleConnections = new Map<string, McpServerConnection>();
  const connectionFor = (server: string, role: string | undefined): McpServerConnection => {
    const config = options.servers[server]!;
    const roots = role === undefined ? undefined : config.roleRoots?.[role];
    if (!roots) return connection(server);
    const key = `${server}\u0000${role}`;
    let found = roleConnections.get(key);
    if (!found) {
      // Its tools are the server's own, listed by the shared instance.
      found = connectionOf(server, { ...config, roots }, { onTools: () => undefined, onStateChange: stateOf(server) });
      roleConnections.set(key, found);
    }
    return found;
  };

  const connection = (server: string): McpServerConnection => {
    const found = connections.get(server);
    if (!found)
      throw new CadreError(
        'tool_not_found',
        `No MCP server named "${server}". Servers: ${[...connections.keys()].join(', ') || 'none'}`,
      );
    return found;
  };

  const listAll = async (servers: string[]): Promise<void> => {
    // A server that cannot start is reported in status(); the others still load.
    await Promise.all(
      servers.map((server) =>
        connection(server)
          .listTools()
          .catch(() => undefined),
      ),
    );
  };
  await listAll([...connections.keys()].filter((server) => !lists.has(server)));
  await cache.flush();

  const build = (): McpTool[] => {
    const refs = [...lists].flatMap(([server, tools]) => tools.map((tool) => ({ server, tool: tool.name })));
    const names = new McpToolNames(refs);
    return [...lists].flatMap(([server, tools]) =>
      tools.map((info) => toCadreTool(server, info, names.nameOf(server, info.name)!)),
    );
  };

  const toCadreTool = (server: string, info: McpToolInfo, name: string): McpTool => {
    const config = options.servers[server]!;
    const shared = connection(server);
    const { onEvent, watchCall } = options;
    const tool = defineTool({
      name,
      description: describe(server, info),
      input: permissiveInput,
      effects: config.effects?.[info.name] ?? 'write',
      idempotent: config.idempotent?.[info.name] ?? false,
      ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}),
      run: async (args, context) => {
        const target = config.roleRoots ? connectionFor(server, context.role) : shared;
        const call = () =>
          target.callTool(info.name, args, {
            signal: context.signal,
            onProgress:
              onEvent &&
              ((p) => onEvent({ type: 'mcp.progress', server, tool: info.name, callId: context.callId, ...p })),
            timeoutMs: config.timeoutMs,
            // Read once: the executor derives it (a hash) when asked.
            idempotencyKey: context.idempotencyKey,
          });
        // A watcher may end the call for a question its server asked, or have it made again once answered.
        const watched = async () => {
          for (;;) {
            const ended = watchCall?.({ server, tool: info.name, taskId: context.taskId, callId: context.callId });
            const result = await call();
            if (ended?.() !== 'again') return result;
          }
        };
        const result = await watched();
        if (result.isError) {
          const text = mcpResultText(result);
          throw new CadreError('tool_failed', text || `${info.name} on MCP server "${server}" reported an error`);
        }
        const text = mcpResultText(result);
        if (!info.outputSchema) return text;
        // The model reads the server's text (the spec has it carry the same JSON); code gets the checked value.
        return new StructuredOutput(
          text,
          checkedStructuredContent({ server, tool: info.name }, info.outputSchema, result),
        );
      },
    });
    return Object.freeze({
      ...tool,
      jsonSchema: info.inputSchema,
      ...(info.outputSchema ? { outputSchema: info.outputSchema } : {}),
      server,
      mcpName: info.name,
    });
  };

  const resourceTool = defineTool({
    name: 'mcp_read_resource',
    description: `Reads a resource from an MCP server by URI. Servers: ${[...connections.keys()].join(', ')}.`,
    input: z.object({ server: z.string().describe('MCP server name'), uri: z.string().describe('Resource URI') }),
    effects: 'read',
    run: async ({ server, uri }, context) =>
      mcpResourceText(await connection(server).readResource(uri, context.signal)),
  });

  // One server by name (its failure is the caller's), or all of them: then, as when loading tools,
  // a server that cannot start is left out and reported in status().
  const across = async <T>(server: string | undefined, list: (c: McpServerConnection) => Promise<T[]>) => {
    const targets = server !== undefined ? [connection(server)] : [...connections.values()];
    const lists = await Promise.all(
      targets.map(async (c) => {
        const items = server !== undefined ? await list(c) : await list(c).catch(() => [] as T[]);
        return items.map((item) => ({ ...item, server: c.name }));
      }),
    );
    return lists.flat();
  };

  return {
    tools: () => (built ??= build()),
    resourceTool: () => resourceTool,
    listPrompts: (server, signal) => across(server, (c) => c.listPrompts(signal)),
    getPrompt: async (server, name, args, signal) => connection(server).getPrompt(name, args, signal),
    listResources: (server, signal) => across(server, (c) => c.listResources(signal)),
    listResourceTemplates: (server, signal) => across(server, (c) => c.listResourceTemplates(signal)),
    readResource: async (server, uri, signal) => {
      const result = await connection(server).readResource(uri, signal);
      return { contents: result.contents, text: delimitUntrusted('mcp_resource', mcpResourceText(result)) };
    },
    subscribeResource: async (server, uri, onUpdated) => connection(server).subscribeResource(uri, onUpdated),
    status: () =>
      [...connections.values()].map((c) => ({
        server: c.name,
        state: c.state,
        ...(c.pid !== undefined ? { pid: c.pid } : {}),
        toolCount: lists.get(c.name)?.length ?? 0,
        ...(c.lastError ? { lastError: c.lastError.message, lastErrorCode: c.lastError.code } : {}),
      })),
    refresh: () => listAll([...connections.keys()]),
    close: async () => {
      await Promise.all([...connections.values(), ...roleConnections.values()].map((c) => c.close()));
      await cache.flush();
    },
  };
}

function describe(server: string, info: McpToolInfo): string {
  // Annotations are shown to the model but never decide effects: a server could claim anything.
  const hints = [
    info.annotations?.readOnlyHint ? '(server says: read-only)' : '',
    info.annotations?.destructiveHint && !info.annotations.readOnlyHint ? '(server says: destructive)' : '',
  ].filter(Boolean);
  return [`[${server}]`, info.description?.trim() || info.annotations?.title || `MCP tool ${info.name}`, ...hints].join(
    ' ',
  );
}
