import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {
  CallToolResult,
  GetPromptResult,
  Prompt,
  ReadResourceResult,
  Resource,
  ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js';
import { ExponentialBackoff, handleWhen, retry, type IBackoff } from 'cockatiel';
import { setTimeout as sleep } from 'node:timers/promises';
import { CadreError, abortable, cancelledError, createLogger, type Logger } from '../../src/core/index.js';
import { defaultIdleTimeoutMs, isStdioServer, type McpServerConfig } from './mcp-config.js';
import type { McpClientHandle } from './mcp-client.js';
import { fetchTools, type McpToolInfo } from './mcp-tool-info.js';
import { followSignal, type FollowedSignal } from './follow-signal.js';
import { sandboxedServerConfig, type McpSandboxSettings } from './mcp-sandbox.js';
import { mcpClientSetup, type McpClientSetupOptions } from './mcp-client-setup.js';
import { allPages, type McpPage } from './mcp-pages.js';
import { mcpLogLevelFor } from './mcp-server-log.js';
import { McpOAuthProvider } from './mcp-oauth-provider.js';
import type { McpOAuthStore } from './mcp-oauth-store.js';
import type { McpClientCredentialsProvider } from './mcp-client-credentials.js';
import { isClientCredentials } from './mcp-oauth-config.js';
import { McpResourceSubscriptions, type McpResourceListener } from './mcp-resource-subscriptions.js';

/** `idle`: nothing running; `closed`: the transport ended on its own (next call reconnects). */
export type McpServerState = 'idle' | 'connecting' | 'ready' | 'closed' | 'failed';

/** A progress notification a server sent during a call. */
export interface McpProgress {
  progress: number;
  total?: number;
  message?: string;
}

/** Cancellation, progress and limits for one tool call. */
export interface McpCallOptions {
  signal?: AbortSignal;
  /** Told of each progress notification; progress is asked for only when this is given. */
  onProgress?: (progress: McpProgress) => void;
  /** The SDK's request timeout, reset by progress. Default 10 minutes; the tool executor enforces cadre's own limit. */
  timeoutMs?: number;
  /** Sent in the request's `_meta` under `idempotencyMetaKey`, for servers that deduplicate by it. */
  idempotencyKey?: string;
}

/** The `_meta` key that carries a call's idempotency key to and from MCP servers. */
export const idempotencyMetaKey = 'io.cadre/idempotency-key';

/** The server to connect to, under its name, and listeners for its tools and state. */
export interface McpServerConnectionOptions {
  name: string;
  config: McpServerConfig;
  /** Called with the fresh list after every connect and every `tools/list_changed`. */
  onTools?: (tools: McpToolInfo[]) => void;
  /** Called on every state change, with the error when one caused it. */
  onStateChange?: (state: McpServerState, error?: CadreError) => void;
  /** Connection attempts per call before giving up. Default 3. */
  connectAttempts?: number;
  /** Where bwrap is and what stays hidden, for a server whose config turns `sandbox` on. */
  sandbox?: McpSandboxSettings;
  /** The first root offered to the server (`roots/list`). */
  workspaceDir?: string;
  /** Where the server's log messages go. Default: cadre's logger. */
  logger?: Logger;
  /** Answers the server's sampling requests, when its config allows them. */
  sampling?: McpClientSetupOptions['sampling'];
  /** Answers the server's elicitation requests. */
  elicit?: McpClientSetupOptions['elicit'];
  /** Told of every sampling and elicitation request the server made and what became of it. */
  onRequest?: McpClientSetupOptions['onRequest'];
  /** Saved OAuth logins (`cadre mcp login`): an HTTP server answering 401 is sent its tokens. */
  oauthStore?: McpOAuthStore;
}

/**
 * One MCP server, started lazily on first use and shut down after `idleTimeoutMs` without calls.
 * When the transport closes underneath it, calls in flight fail with `tool_failed` and the next
 * call reconnects (with exponential backoff between attempts).
 */
export class McpServerConnection {
  readonly name: string;
  private readonly config: McpServerConfig;
  private readonly options: McpServerConnectionOptions;
  private handle: McpClientHandle | undefined;
  private connecting: Promise<McpClientHandle> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private currentState: McpServerState = 'idle';
  private error: CadreError | undefined;
  /** Grows with each unexpected close in a row, so a crash-looping server is not respawned flat out. */
  private reconnectBackoff: IBackoff<unknown> | undefined;
  private readonly subscriptions: McpResourceSubscriptions;
  private readonly logger: Logger;
  /** The list fetched while connecting, until a `listTools` takes it. */
  private freshTools: McpToolInfo[] | undefined;
  private authProvider: McpOAuthProvider | McpClientCredentialsProvider | undefined;

  constructor(options: McpServerConnectionOptions) {
    this.name = options.name;
    this.config = options.config;
    this.options = options;
    this.logger = options.logger ?? createLogger();
    this.subscriptions = new McpResourceSubscriptions({ server: this.name, logger: this.logger });
  }

  /** Where the connection stands now. */
  get state(): McpServerState {
    return this.currentState;
  }

  /** Child process id while a stdio server is running. */
  get pid(): number | undefined {
    return this.handle?.pid;
  }

  /** The last error that closed or failed the connection; kept after a reconnect. */
  get lastError(): CadreError | undefined {
    return this.error;
  }

  /** Lists the server's tools, connecting first if needed (then the list the connection fetched serves). */
  listTools(signal?: AbortSignal): Promise<McpToolInfo[]> {
    return this.use((client, requestSignal) => {
      // Listing a large paginated set twice on every cold start would double its cost.
      const fresh = this.freshTools;
      this.freshTools = undefined;
      return fresh ? Promise.resolve(fresh) : fetchTools(client, requestSignal);
    }, signal);
  }

  /** Calls one tool; when the signal aborts, the SDK tells the server the call is cancelled. */
  callTool(tool: string, args: Record<string, unknown>, options: McpCallOptions = {}): Promise<CallToolResult> {
    const { signal, onProgress, timeoutMs, idempotencyKey } = options;
    const params = {
      name: tool,
      arguments: args,
      ...(idempotencyKey ? { _meta: { [idempotencyMetaKey]: idempotencyKey } } : {}),
    };
    return this.use((client, requestSignal) => {
      // The tool executor enforces cadre's limit; this only stops the SDK's 60 s default cutting in first.
      const request: RequestOptions = { timeout: timeoutMs ?? 10 * 60_000 };
      if (requestSignal) request.signal = requestSignal;
      // Asked for only when someone listens: a progress token costs the SDK and the server on every call.
      if (onProgress) {
        request.onprogress = onProgress;
        request.resetTimeoutOnProgress = true;
      }
      return client.callTool(params, undefined, request) as Promise<CallToolResult>;
    }, signal);
  }

  /** Reads one resource by URI. */
  readResource(uri: string, signal?: AbortSignal): Promise<ReadResourceResult> {
    return this.use(
      (client, requestSignal) => client.readResource({ uri }, requestSignal ? { signal: requestSignal } : undefined),
      signal,
    );
  }

  /** Every prompt the server offers, following pagination cursors; none when it offers no prompts. */
  listPrompts(signal?: AbortSignal): Promise<Prompt[]> {
    return this.listPaged('prompts', 'prompts/list', signal, async (client, params, options) => {
      const page = await client.listPrompts(params, options);
      return { items: page.prompts, nextCursor: page.nextCursor };
    });
  }

  /** One prompt, its arguments filled in. */
  getPrompt(name: string, args: Record<string, string> = {}, signal?: AbortSignal): Promise<GetPromptResult> {
    return this.use(
      (client, requestSignal) => client.getPrompt({ name, arguments: args }, requestOptions(requestSignal)),
      signal,
    );
  }

  /** Every resource the server lists, following pagination cursors; none when it offers no resources. */
  listResources(signal?: AbortSignal): Promise<Resource[]> {
    return this.listPaged('resources', 'resources/list', signal, async (client, params, options) => {
      const page = await client.listResources(params, options);
      return { items: page.resources, nextCursor: page.nextCursor };
    });
  }

  /** Every resource template (URI pattern) the server offers, following pagination cursors. */
  listResourceTemplates(signal?: AbortSignal): Promise<ResourceTemplate[]> {
    return this.listPaged('resources', 'resources/templates/list', signal, async (client, params, options) => {
      const page = await client.listResourceTemplates(params, options);
      return { items: page.resourceTemplates, nextCursor: page.nextCursor };
    });
  }

  /** All pages of one list; none when the server does not offer `capability` (it would answer "method not found"). */
  private listPaged<T>(
    capability: 'prompts' | 'resources',
    method: string,
    signal: AbortSignal | undefined,
    page: (client: Client, params: { cursor: string } | undefined, options?: RequestOptions) => Promise<McpPage<T>>,
  ): Promise<T[]> {
    return this.use((client, requestSignal) => {
      if (!client.getServerCapabilities()?.[capability]) return Promise.resolve([]);
      return allPages(
        (cursor) => page(client, cursor ? { cursor } : undefined, requestOptions(requestSignal)),
        `MCP server "${this.name}"'s ${method}`,
      );
    }, signal);
  }

  /**
   * Subscribes to changes of one resource; `listener` hears of each. While any subscription is
   * open the server is not stopped when idle, and a reconnect subscribes again. Resolves to the
   * function that ends this subscription.
   */
  async subscribeResource(
    uri: string,
    listener: McpResourceListener,
    signal?: AbortSignal,
  ): Promise<() => Promise<void>> {
    if (!this.subscriptions.has(uri))
      await this.use(
        (client, requestSignal) => client.subscribeResource({ uri }, requestOptions(requestSignal)),
        signal,
      );
    this.subscriptions.add(uri, listener);
    return async () => {
      if (!this.subscriptions.remove(uri, listener)) return;
      // Nothing to tell a server that is not running: its subscriptions ended with it.
      const client = this.handle?.client;
      if (client) await client.unsubscribeResource({ uri }).catch(() => undefined);
      this.armIdleTimer();
    };
  }

  /** Stops the server (or drops the HTTP session) and ends its subscriptions; a later call starts it again. */
  async close(): Promise<void> {
    this.subscriptions.clear();
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const handle = this.handle ?? (await this.connecting?.catch(() => undefined));
    this.handle = undefined;
    this.connecting = undefined;
    this.freshTools = undefined;
    if (handle) {
      handle.client.onclose = undefined;
      await handle.close().catch(() => undefined);
    }
    // Ending an HTTP session can take a moment; a call that reconnected meanwhile keeps its state.
    if (!this.handle && !this.connecting) this.setState('idle');
  }

  /** Runs one request; `work` gets a signal of its own that follows the caller's (see `followSignal`). */
  private async use<T>(
    work: (client: Client, signal: AbortSignal | undefined) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    this.inFlight += 1;
    let follower: FollowedSignal | undefined;
    try {
      // Connected: straight to the call. Otherwise waiters share one connection attempt, each
      // stopping on its own signal.
      const handle = this.handle ?? (await abortable(this.connect(), signal));
      if (signal) follower = followSignal(signal);
      const result = await work(handle.client, follower?.signal);
      this.reconnectBackoff = undefined;
      return result;
    } catch (error) {
      throw this.explain(error, signal);
    } finally {
      follower?.release();
      this.inFlight -= 1;
      this.armIdleTimer();
    }
  }

  private connect(): Promise<McpClientHandle> {
    if (this.handle) return Promise.resolve(this.handle);
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<McpClientHandle> {
    this.setState('connecting');
    // What the server or cadre refused will not fix itself in 100 ms: a login, the sandbox, a bad grant.
    const policy = retry(
      handleWhen((error) => !(CadreError.isInstance(error) && refusals.has(error.code))),
      {
        maxAttempts: (this.options.connectAttempts ?? 3) - 1,
        backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5_000 }),
      },
    );
    let opened: McpClientHandle | undefined;
    try {
      if (this.reconnectBackoff) await sleep(this.reconnectBackoff.duration);
      // The SDK loads with the first connection, so importing cadre's tools does not load it.
      const { openMcpClient, onToolListChanged } = await import('./mcp-client.js');
      // Outside the retries: a missing bwrap or a bad grant fails at once.
      const launch = await sandboxedServerConfig(this.config, this.options.sandbox);
      const setup = mcpClientSetup({
        server: this.name,
        config: this.config,
        workspaceDir: this.options.workspaceDir,
        logger: this.logger,
        sampling: this.options.sampling,
        elicit: this.options.elicit,
        onRequest: this.options.onRequest,
        onResourceUpdated: (uri) => this.subscriptions.notify(uri),
      });
      const authProvider = (this.authProvider ??= await this.oauthClient());
      const onInsufficientScope = authProvider && ((scope?: string) => authProvider.scopeRequired(scope));
      const handle = (opened = await policy.execute(() =>
        openMcpClient(launch, { setup, authProvider, onInsufficientScope }),
      ));
      handle.client.onclose = () => this.onTransportClosed(handle);
      onToolListChanged(handle.client, async () => {
        this.freshTools = undefined;
        const tools = await fetchTools(handle.client).catch(() => undefined);
        if (tools) this.options.onTools?.(tools);
      });
      const tools = await fetchTools(handle.client);
      await this.afterConnect(handle.client);
      this.handle = handle;
      this.freshTools = tools;
      this.setState('ready');
      this.options.onTools?.(tools);
      return handle;
    } catch (error) {
      await opened?.close().catch(() => undefined);
      // A refusal (sandbox, login) keeps its own code, so callers can tell it from a server that crashed.
      const refused = CadreError.isInstance(error) && refusals.has(error.code);
      const failure = new CadreError(
        refused ? error.code : 'tool_failed',
        `MCP server "${this.name}" could not be started: ${messageOf(error)}`,
        { cause: error, ...(refused ? { details: error.details } : {}) },
      );
      this.setState('failed', failure);
      throw failure;
    }
  }

  /**
   * Who answers an HTTP server's 401: its client credentials when the entry says so (no store
   * needed; their tokens stay in memory), else the saved login of `cadre mcp login`. Made once, so
   * tokens held in memory outlive a reconnect.
   */
  private async oauthClient(): Promise<McpOAuthProvider | McpClientCredentialsProvider | undefined> {
    if (isStdioServer(this.config) || this.config.oauth === false) return undefined;
    if (isClientCredentials(this.config.oauth)) {
      // Loaded with the first connection, as the SDK is.
      const { McpClientCredentialsProvider } = await import('./mcp-client-credentials.js');
      return new McpClientCredentialsProvider({ server: this.name, oauth: this.config.oauth });
    }
    const store = this.options.oauthStore;
    return store ? new McpOAuthProvider(this.name, this.config, store, { kind: 'background' }) : undefined;
  }

  /** Asks for the log level cadre's logger keeps, and renews subscriptions a reconnect lost. */
  private async afterConnect(client: Client): Promise<void> {
    // Either may fail on a server that half-implements them; neither is worth failing the connection.
    if (client.getServerCapabilities()?.logging)
      await client.setLoggingLevel(mcpLogLevelFor(this.logger)).catch(() => undefined);
    for (const uri of this.subscriptions.uris()) await client.subscribeResource({ uri }).catch(() => undefined);
  }

  private onTransportClosed(handle: McpClientHandle): void {
    if (this.handle !== handle) return;
    this.handle = undefined;
    this.freshTools = undefined;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.reconnectBackoff = this.reconnectBackoff ? this.reconnectBackoff.next(undefined) : reconnectBackoff.next();
    const tail = handle.stderrTail();
    this.setState(
      'closed',
      new CadreError(
        'tool_failed',
        `MCP server "${this.name}" closed the connection${tail ? `; stderr: ${tail.slice(-500)}` : ''}`,
      ),
    );
  }

  private armIdleTimer(): void {
    // A subscription is a standing request for news: stopping the server would end it silently.
    if (this.inFlight > 0 || !this.handle || this.subscriptions.size > 0) return;
    // One timer, restarted after each call: no allocation per call on the hot path.
    if (this.idleTimer) {
      this.idleTimer.refresh();
      return;
    }
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      // A call may have started since the timer was last restarted; it re-arms when it ends.
      if (this.inFlight === 0 && this.subscriptions.size === 0) void this.close();
    }, this.config.idleTimeoutMs ?? defaultIdleTimeoutMs);
    // An idle server must never keep the host process alive.
    this.idleTimer.unref();
  }

  private explain(error: unknown, signal?: AbortSignal): CadreError {
    if (signal?.aborted) return cancelledError(signal);
    if (CadreError.isInstance(error)) return error;
    // The transport closing rejects calls in flight; say so, with the server's last stderr lines.
    const reason =
      this.currentState === 'closed' && this.error
        ? `${this.error.message} during the call`
        : `MCP server "${this.name}": ${messageOf(error)}`;
    return new CadreError('tool_failed', reason, { cause: error });
  }

  private setState(state: McpServerState, error?: CadreError): void {
    this.currentState = state;
    if (error) this.error = error;
    this.options.onStateChange?.(state, error);
  }
}

const refusals: ReadonlySet<string> = new Set([
  'sandbox_unavailable',
  'config_invalid',
  'mcp_auth_required',
  'auth_failed',
]);
const reconnectBackoff = new ExponentialBackoff({ initialDelay: 100, maxDelay: 10_000 });
const requestOptions = (signal: AbortSignal | undefined): RequestOptions | undefined =>
  signal ? { signal } : undefined;
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
