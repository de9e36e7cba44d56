import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { CadreError } from '../../core/index.js';
import { checkHeaders, readBodyCapped, type RequestGuardOptions } from './request-guard.js';

export interface ServeHttpOptions {
  /** Interface to bind. Default 127.0.0.1: only this machine can connect. */
  host?: string;
  /** Default 0: any free port (read it from `url`). */
  port?: number;
  /** Default `/mcp`. */
  path?: string;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** Extra Host values (`name:port`) besides 127.0.0.1, localhost and [::1] on our port. */
  allowedHosts?: readonly string[];
  /** Extra Origins besides http://127.0.0.1, http://localhost and http://[::1] on our port. */
  allowedOrigins?: readonly string[];
  /** Largest request body accepted. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Most open sessions at once; further initializes get 503. Default 100. */
  maxSessions?: number;
}

export interface HttpServing {
  url: string;
  close(): Promise<void>;
}

type Session = { transport: StreamableHTTPServerTransport; server: McpServer };

/**
 * Serves MCP over Streamable HTTP with stateful sessions. Pass a factory to serve many clients (one
 * server per session); a single McpServer serves only the first session. Every request is checked
 * (Host, Origin, token, size) before its body is parsed or any tool can run.
 */
export async function serveHttp(
  server: McpServer | (() => McpServer),
  options: ServeHttpOptions = {},
): Promise<HttpServing> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/mcp';
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const maxSessions = options.maxSessions ?? 100;
  let used = false;
  const nextServer = (): McpServer => {
    if (typeof server === 'function') return server();
    if (used)
      throw new CadreError('input_invalid', 'This MCP server serves one session; pass a factory to serveHttp for more');
    used = true;
    return server;
  };
  const sessions = new Map<string, Session>();
  // Filled in once listening: the allowed Host values depend on the port we got.
  const guard: { current?: RequestGuardOptions } = {};

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const rejection = guard.current ? checkHeaders(req, guard.current) : { status: 503, message: 'Starting' };
    if (rejection) return reply(res, rejection.status, rejection.message, rejection.headers);
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== path) return reply(res, 404, 'Not found');
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (req.method !== 'POST') {
      if (!existing)
        return reply(res, sessionId ? 404 : 400, sessionId ? 'Session not found' : 'Missing mcp-session-id');
      return existing.transport.handleRequest(req, res);
    }
    const raw = await readBodyCapped(req, maxBodyBytes);
    if (raw === undefined) return reply(res, 413, `Body over ${maxBodyBytes} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return replyJsonRpcError(res, 400, -32700, 'Parse error');
    }
    if (existing) return existing.transport.handleRequest(req, res, body);
    if (sessionId) return reply(res, 404, 'Session not found');
    if (!isInitializeRequest(body)) return replyJsonRpcError(res, 400, -32000, 'No session: send initialize first');
    if (sessions.size >= maxSessions) return reply(res, 503, 'Too many open sessions');
    const session = await openSession(nextServer(), sessions);
    return session.transport.handleRequest(req, res, body);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) replyJsonRpcError(res, 500, -32603, CadreError.from(error).message);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  const names = ['127.0.0.1', 'localhost', '[::1]', host.includes(':') ? `[${host}]` : host].map(
    (name) => `${name}:${port}`,
  );
  guard.current = {
    allowedHosts: new Set([...names, ...(options.allowedHosts ?? [])].map((h) => h.toLowerCase())),
    allowedOrigins: new Set(
      [...names.map((n) => `http://${n}`), ...(options.allowedOrigins ?? [])].map((o) => o.toLowerCase()),
    ),
    maxBodyBytes,
    ...(options.bearerToken !== undefined ? { bearerToken: options.bearerToken } : {}),
  };
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}${path}`,
    close: async () => {
      await Promise.allSettled([...sessions.values()].map((s) => s.server.close()));
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

async function openSession(server: McpServer, sessions: Map<string, Session>): Promise<Session> {
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => void sessions.set(id, session),
  });
  const session: Session = { transport, server };
  transport.onclose = () => {
    if (transport.sessionId) sessions.delete(transport.sessionId);
  };
  await server.connect(transport);
  return session;
}

function reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  // A rejected request may still be sending its body; close rather than drain it.
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close', ...headers });
  res.end(`${message}\n`, () => res.req.destroy());
}

function replyJsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}
