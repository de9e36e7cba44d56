import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
  ResourceUpdatedNotificationSchema,
  type ClientCapabilities,
  type CreateMessageRequest,
  type CreateMessageResult,
  type ElicitRequest,
  type ElicitResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../src/core/index.js';
import type { McpServerConfig } from './mcp-config.js';
import { mcpRootsOf } from './mcp-roots.js';
import { logServerMessage } from './mcp-server-log.js';

/** A server's request for a model completion, as the toolset's `sampling` handler gets it. */
export interface McpSamplingRequest {
  server: string;
  params: CreateMessageRequest['params'];
  signal: AbortSignal;
}

/** Answers a server's `sampling/createMessage`; the runtime's routes through cadre's router. */
export type McpSamplingHandler = (request: McpSamplingRequest) => Promise<CreateMessageResult>;

/** A server's request for input from the user, as the toolset's `elicit` handler gets it. */
export interface McpElicitRequest {
  server: string;
  params: ElicitRequest['params'];
  signal: AbortSignal;
}

/** Answers a server's `elicitation/create`: accept with content, decline or cancel. */
export type McpElicitHandler = (request: McpElicitRequest) => Promise<ElicitResult>;

/** What a server asked of cadre and what became of it, for audit and run events. */
export type McpServerRequestEvent =
  | { type: 'mcp.sampling'; server: string; allowed: boolean; error?: string }
  | { type: 'mcp.elicitation'; server: string; action: ElicitResult['action'] | 'failed' };

/** The `_meta` key under which a declined elicitation says why. */
export const declineReasonMetaKey = 'io.cadre/decline-reason';

/** The server being connected and everything cadre answers its requests with. */
export interface McpClientSetupOptions {
  server: string;
  config: McpServerConfig;
  /** Offered as the first root; absent, only the server's configured `roots` are. */
  workspaceDir?: string | undefined;
  /** Receives the server's `notifications/message`. */
  logger: Logger;
  sampling?: McpSamplingHandler | undefined;
  elicit?: McpElicitHandler | undefined;
  onResourceUpdated?: ((uri: string) => void) | undefined;
  onRequest?: ((event: McpServerRequestEvent) => void) | undefined;
}

/** Capabilities to declare and handlers to install on a client before it connects. */
export interface McpClientSetup {
  capabilities: ClientCapabilities;
  install(client: Client): void;
}

// The spec's code for a sampling request the user (here: policy) rejected.
const rejected = -1;

/**
 * cadre's side of the protocol for one server: roots when its config lists `roots`; sampling only when the server's
 * config says `sampling: true`, so a server is never offered what policy refuses; elicitation
 * unless its config says `elicitation: false`; its log messages into cadre's logger.
 */
export function mcpClientSetup(options: McpClientSetupOptions): McpClientSetup {
  const { server, config } = options;
  const emit = (event: McpServerRequestEvent): void => options.onRequest?.(event);
  const capabilities: ClientCapabilities = {
    // Opt-in: a server told roots uses them instead of its own setting (the filesystem server drops the
    // folders it was started with), so a server that names none keeps what it was configured with.
    ...(config.roots !== undefined ? { roots: {} } : {}),
    ...(config.sampling === true ? { sampling: {} } : {}),
    ...(config.elicitation !== false ? { elicitation: { form: {} } } : {}),
  };
  const roots = mcpRootsOf({ workspaceDir: options.workspaceDir, extra: config.roots });
  const logger = options.logger;

  const install = (client: Client): void => {
    client.registerCapabilities(capabilities);
    if (capabilities.roots) client.setRequestHandler(ListRootsRequestSchema, () => ({ roots }));
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) =>
      logServerMessage(logger, server, notification.params),
    );
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) =>
      options.onResourceUpdated?.(notification.params.uri),
    );
    if (capabilities.sampling) {
      client.setRequestHandler(CreateMessageRequestSchema, async (request, extra) => {
        if (!options.sampling) {
          const reason = `cadre refused sampling for MCP server "${server}": no model is available to MCP servers here`;
          emit({ type: 'mcp.sampling', server, allowed: false, error: reason });
          throw new McpError(rejected, reason);
        }
        try {
          const result = await options.sampling({ server, params: request.params, signal: extra.signal });
          emit({ type: 'mcp.sampling', server, allowed: true });
          return result;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          emit({ type: 'mcp.sampling', server, allowed: true, error: message });
          throw error;
        }
      });
    }
    if (capabilities.elicitation) {
      client.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
        if (!options.elicit) {
          emit({ type: 'mcp.elicitation', server, action: 'decline' });
          return {
            action: 'decline',
            _meta: { [declineReasonMetaKey]: 'nobody can answer: cadre runs without a way to ask the user here' },
          };
        }
        try {
          const result = withDefaults(
            request.params,
            await options.elicit({ server, params: request.params, signal: extra.signal }),
          );
          emit({ type: 'mcp.elicitation', server, action: result.action });
          return result;
        } catch (error) {
          emit({ type: 'mcp.elicitation', server, action: 'failed' });
          throw error;
        }
      });
    }
  };
  return { capabilities, install };
}

/**
 * An accepted form answer with the schema's defaults filled in for the fields it left out, as the
 * spec asks of clients (SEP-1034): a server gets a value for every field that has a default.
 */
function withDefaults(params: ElicitRequest['params'], result: ElicitResult): ElicitResult {
  if (result.action !== 'accept' || !('requestedSchema' in params)) return result;
  const content = { ...result.content };
  for (const [name, field] of Object.entries(params.requestedSchema.properties)) {
    const fallback = (field as { default?: unknown }).default;
    if (content[name] === undefined && fallback !== undefined) content[name] = fallback as never;
  }
  return { ...result, content };
}
