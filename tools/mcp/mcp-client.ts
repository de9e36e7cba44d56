import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { extractWWWAuthenticateParams, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import type { McpClientSetup } from './mcp-client-setup.js';
import { isStdioServer, type McpServerConfig } from './mcp-config.js';

/** A connected SDK client plus what cadre needs to know about the process behind it. */
export interface McpClientHandle {
  client: Client;
  /** Child process id for stdio servers. */
  pid?: number;
  /** The last lines the server wrote to stderr, for error messages. */
  stderrTail(): string;
  /** Ends the session (Streamable HTTP: DELETE with its session id) and closes the transport. */
  close(): Promise<void>;
}

const clientInfo = { name: 'cadre', version: '0.1.0' };

// cadre checks structuredContent itself (mcp-structured-result.ts) against the tool list it keeps:
// the SDK's own check forgets every tool but the last page's of a paginated list, and knows nothing
// of tools listed from the cache, so it would pass or fail the same call depending on page order.
const acceptAll: jsonSchemaValidator = {
  getValidator: () => (input) => ({ valid: true, data: input as never, errorMessage: undefined }),
};

/** A client with cadre's capabilities and handlers for this server, not yet connected. */
function newClient(setup: McpClientSetup | undefined): Client {
  const client = new Client(clientInfo, { jsonSchemaValidator: acceptAll });
  setup?.install(client);
  return client;
}
const stderrKeep = 4_000;
/** How long closing waits for the server to acknowledge the end of a Streamable HTTP session. */
const terminateWithinMs = 2_000;

/**
 * Starts (stdio) or reaches (HTTP) one server and completes the MCP handshake, declaring the
 * capabilities `setup` gives. Over HTTP, Streamable HTTP is tried first and legacy SSE only when
 * the server answers 4xx to the POST.
 */
export async function openMcpClient(
  config: McpServerConfig,
  options: {
    setup?: McpClientSetup | undefined;
    signal?: AbortSignal | undefined;
    /** Answers an HTTP server's 401 with OAuth (see McpOAuthProvider). */
    authProvider?: OAuthClientProvider | undefined;
    /** The error a 403 `insufficient_scope` fails its request with, given the scope the server named. */
    onInsufficientScope?: ((scope: string | undefined) => Error) | undefined;
  } = {},
): Promise<McpClientHandle> {
  const { setup, signal, authProvider, onInsufficientScope } = options;
  if (isStdioServer(config)) {
    const transport = new StdioClientTransport({
      command: config.command,
      ...(config.args ? { args: config.args } : {}),
      ...(config.env ? { env: config.env } : {}),
      ...(config.cwd ? { cwd: config.cwd } : {}),
      // Piped, not inherited: server logs must not land in the user's terminal, but we keep a tail.
      stderr: 'pipe',
    });
    let tail = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-stderrKeep);
    });
    const client = newClient(setup);
    try {
      await client.connect(transport, signal ? { signal } : undefined);
    } catch (error) {
      await transport.close().catch(() => undefined);
      throw error;
    }
    return {
      client,
      ...(transport.pid !== null ? { pid: transport.pid } : {}),
      stderrTail: () => tail.trim(),
      close: () => client.close(),
    };
  }
  const url = new URL(config.url);
  const transportOptions = {
    ...(config.headers ? { requestInit: { headers: config.headers } } : {}),
    ...(authProvider ? { authProvider } : {}),
    ...(onInsufficientScope ? { fetch: stoppingAtInsufficientScope(onInsufficientScope) } : {}),
  };
  const client = newClient(setup);
  const transport = new StreamableHTTPClientTransport(url, transportOptions);
  try {
    await client.connect(transport, signal ? { signal } : undefined);
    return { client, stderrTail: () => '', close: () => endSession(client, transport) };
  } catch (error) {
    await client.close().catch(() => undefined);
    if (!isClientError(error)) throw error;
  }
  const legacy = newClient(setup);
  await legacy.connect(new SSEClientTransport(url, transportOptions), signal ? { signal } : undefined);
  return { client: legacy, stderrTail: () => '', close: () => legacy.close() };
}

/**
 * Tells the server the session is over (HTTP DELETE with `mcp-session-id`), then closes. A server
 * may refuse (405) or not answer; neither may hold up closing, so the request gets a short limit
 * and closing the transport aborts it if still pending.
 */
async function endSession(client: Client, transport: StreamableHTTPClientTransport): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, terminateWithinMs)));
  try {
    await Promise.race([transport.terminateSession().catch(() => undefined), limit]);
  } finally {
    clearTimeout(timer);
    await client.close();
  }
}

/** A 4xx to the POST: the server may speak legacy SSE instead. A 401 is a login matter, not that. */
function isClientError(error: unknown): boolean {
  return (
    error instanceof StreamableHTTPError &&
    error.code !== undefined &&
    error.code >= 400 &&
    error.code < 500 &&
    error.code !== 401
  );
}

/**
 * `fetch`, except that a 403 `insufficient_scope` fails with `refuse`'s error. Left to the SDK, it
 * would refresh the token (which keeps the login's scope) and fail again with a bare 403, or send a
 * run, where nobody can follow it, to the authorization page.
 */
function stoppingAtInsufficientScope(refuse: (scope: string | undefined) => Error): FetchLike {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (response.status !== 403) return response;
    const { error, scope } = extractWWWAuthenticateParams(response);
    if (error !== 'insufficient_scope') return response;
    await response.body?.cancel();
    throw refuse(scope);
  };
}

/** Calls `handler` whenever the server says its tool list changed. */
export function onToolListChanged(client: Client, handler: () => Promise<void>): void {
  client.setNotificationHandler(ToolListChangedNotificationSchema, handler);
}
