import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ToolListChangedNotificationSchema, type CallToolResult, type ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { ExponentialBackoff, handleAll, retry, type IBackoff } from 'cockatiel';
import { setTimeout as sleep } from 'node:timers/promises';
import { CadreError, abortable, cancelledError } from '../../src/core/index.js';
import { defaultIdleTimeoutMs, type McpServerConfig } from './mcp-config.js';
import { openMcpClient, type McpClientHandle } from './mcp-client.js';
import { fetchTools, type McpToolInfo } from './mcp-tool-info.js';

/** `idle`: nothing running; `closed`: the transport ended on its own (next call reconnects). */
export type McpServerState = 'idle' | 'connecting' | 'ready' | 'closed' | 'failed';

export interface McpProgress {
  progress: number;
  total?: number;
  message?: string;
}

export interface McpCallOptions {
  signal?: AbortSignal;
  onProgress?: (progress: McpProgress) => void;
  timeoutMs?: number;
}

export interface McpServerConnectionOptions {
  name: string;
  config: McpServerConfig;
  /** Called with the fresh list after every connect and every `tools/list_changed`. */
  onTools?: (tools: McpToolInfo[]) => void;
  onStateChange?: (state: McpServerState, error?: CadreError) => void;
  /** Connection attempts per call before giving up. Default 3. */
  connectAttempts?: number;
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

  constructor(options: McpServerConnectionOptions) {
    this.name = options.name;
    this.config = options.config;
    this.options = options;
  }

  get state(): McpServerState {
    return this.currentState;
  }

  /** Child process id while a stdio server is running. */
  get pid(): number | undefined {
    return this.handle?.pid;
  }

  get lastError(): CadreError | undefined {
    return this.error;
  }

  /** Lists the server's tools, connecting first if needed. */
  async listTools(signal?: AbortSignal): Promise<McpToolInfo[]> {
    return this.use(async (client) => fetchTools(client, signal), signal);
  }

  /** Calls one tool; the signal is passed to the SDK, which tells the server the call is cancelled. */
  async callTool(tool: string, args: Record<string, unknown>, options: McpCallOptions = {}): Promise<CallToolResult> {
    const { signal, onProgress, timeoutMs } = options;
    return this.use(async (client) => {
      const result = await client.callTool({ name: tool, arguments: args }, undefined, {
        ...(signal ? { signal } : {}),
        ...(onProgress ? { onprogress: onProgress, resetTimeoutOnProgress: true } : {}),
        // The tool executor enforces cadre's limit; this only stops the SDK's 60 s default cutting in first.
        timeout: timeoutMs ?? 10 * 60_000,
      });
      return result as CallToolResult;
    }, signal);
  }

  /** Reads one resource by URI. */
  async readResource(uri: string, signal?: AbortSignal): Promise<ReadResourceResult> {
    return this.use((client) => client.readResource({ uri }, signal ? { signal } : undefined), signal);
  }

  /** Stops the server (or drops the HTTP session); a later call starts it again. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const handle = this.handle ?? (await this.connecting?.catch(() => undefined));
    this.handle = undefined;
    this.connecting = undefined;
    if (handle) {
      handle.client.onclose = undefined;
      await handle.client.close().catch(() => undefined);
    }
    this.setState('idle');
  }

  private async use<T>(work: (client: Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.inFlight += 1;
    try {
      // Connected: straight to the call. Otherwise waiters share one connection attempt, each
      // stopping on its own signal.
      const handle = this.handle ?? (await abortable(this.connect(), signal));
      const result = await work(handle.client);
      this.reconnectBackoff = undefined;
      return result;
    } catch (error) {
      throw this.explain(error, signal);
    } finally {
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
    const policy = retry(handleAll, {
      maxAttempts: (this.options.connectAttempts ?? 3) - 1,
      backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5_000 }),
    });
    let opened: McpClientHandle | undefined;
    try {
      if (this.reconnectBackoff) await sleep(this.reconnectBackoff.duration);
      const handle = (opened = await policy.execute(() => openMcpClient(this.config)));
      handle.client.onclose = () => this.onTransportClosed(handle);
      handle.client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
        const tools = await fetchTools(handle.client).catch(() => undefined);
        if (tools) this.options.onTools?.(tools);
      });
      const tools = await fetchTools(handle.client);
      this.handle = handle;
      this.setState('ready');
      this.options.onTools?.(tools);
      return handle;
    } catch (error) {
      await opened?.client.close().catch(() => undefined);
      const failure = new CadreError('tool_failed', `MCP server "${this.name}" could not be started: ${messageOf(error)}`, { cause: error });
      this.setState('failed', failure);
      throw failure;
    }
  }

  private onTransportClosed(handle: McpClientHandle): void {
    if (this.handle !== handle) return;
    this.handle = undefined;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.reconnectBackoff = this.reconnectBackoff ? this.reconnectBackoff.next(undefined) : reconnectBackoff.next();
    const tail = handle.stderrTail();
    this.setState('closed', new CadreError('tool_failed', `MCP server "${this.name}" closed the connection${tail ? `; stderr: ${tail.slice(-500)}` : ''}`));
  }

  private armIdleTimer(): void {
    if (this.inFlight > 0 || !this.handle) return;
    // One timer, restarted after each call: no allocation per call on the hot path.
    if (this.idleTimer) {
      this.idleTimer.refresh();
      return;
    }
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      // A call may have started since the timer was last restarted; it re-arms when it ends.
      if (this.inFlight === 0) void this.close();
    }, this.config.idleTimeoutMs ?? defaultIdleTimeoutMs);
    // An idle server must never keep the host process alive.
    this.idleTimer.unref();
  }

  private explain(error: unknown, signal?: AbortSignal): CadreError {
    if (signal?.aborted) return cancelledError(signal);
    if (CadreError.isInstance(error)) return error;
    // The transport closing rejects calls in flight; say so, with the server's last stderr lines.
    const reason = this.currentState === 'closed' && this.error ? `${this.error.message} during the call` : `MCP server "${this.name}": ${messageOf(error)}`;
    return new CadreError('tool_failed', reason, { cause: error });
  }

  private setState(state: McpServerState, error?: CadreError): void {
    this.currentState = state;
    if (error) this.error = error;
    this.options.onStateChange?.(state, error);
  }
}

const reconnectBackoff = new ExponentialBackoff({ initialDelay: 100, maxDelay: 10_000 });
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
