// An in-process Streamable HTTP MCP server on loopback that records what clients send it; not a test file itself.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ServerOptions } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export interface RecordingServer {
  url: string;
  /** Session ids the server handed out, in order. */
  sessions: string[];
  /** The `mcp-session-id` header of every DELETE received. */
  deletes: Array<string | undefined>;
  /** Every JSON-RPC message POSTed by clients. */
  received: JSONRPCMessage[];
  close(): Promise<void>;
}

export interface RecordingServerOptions {
  /** Adds tools to each session's server. */
  register?: (server: McpServer) => void;
  /** Capabilities and the like for each session's server (e.g. `logging`, which must be known at construction). */
  serverOptions?: ServerOptions;
  /** `refuse` answers 405 (allowed by the spec); `hang` never answers. Default: end the session. */
  onDelete?: 'end' | 'refuse' | 'hang';
  /** Sees each request first; returns true when it answered it (e.g. a 401, or a well-known document). */
  guard?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/** Starts the server on 127.0.0.1 at a free port; one SDK server and transport per session. */
export async function startRecordingServer(options: RecordingServerOptions = {}): Promise<RecordingServer> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const recorded = {
    sessions: [] as string[],
    deletes: [] as Array<string | undefined>,
    received: [] as JSONRPCMessage[],
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (options.guard?.(req, res)) return;
    const sessionId = header(req, 'mcp-session-id');
    if (req.method === 'DELETE') {
      recorded.deletes.push(sessionId);
      if (options.onDelete === 'hang') return;
      if (options.onDelete === 'refuse') {
        res.writeHead(405).end();
        return;
      }
    }
    const body =
      req.method === 'POST' ? (JSON.parse(await readBody(req)) as JSONRPCMessage | JSONRPCMessage[]) : undefined;
    if (body) recorded.received.push(...(Array.isArray(body) ? body : [body]));
    let transport = sessionId ? transports.get(sessionId) : undefined;
    if (!transport && !sessionId && req.method === 'POST') {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          transports.set(id, created);
          recorded.sessions.push(id);
        },
      });
      created.onclose = () => {
        if (created.sessionId) transports.delete(created.sessionId);
      };
      const server = new McpServer({ name: 'recording', version: '1.0.0' }, options.serverOptions);
      options.register?.(server);
      await server.connect(created);
      transport = created;
    }
    if (!transport) {
      res.writeHead(404).end();
      return;
    }
    await transport.handleRequest(req, res, body);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    ...recorded,
    close: async () => {
      await Promise.all([...transports.values()].map((t) => t.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
