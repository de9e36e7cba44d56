// An MCP server that wants a scope per method, and its authorization server, on loopback; not a test file itself.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { authorizationServerMetadata } from './oauth-server.js';

/** What the authorization server saw. */
export interface ScopedOAuthFixture {
  /** The MCP endpoint (tool `ping` answers `pong`). */
  url: string;
  issuer: string;
  /** Bodies of dynamic client registrations. */
  registrations: Array<Record<string, unknown>>;
  /** Every `/authorize` request's query. */
  authorizeRequests: URLSearchParams[];
  /** The `scope` of every client_credentials token request ('' when it named none). */
  clientCredentialScopes: string[];
  close(): Promise<void>;
}

export interface ScopedOAuthOptions {
  /** Scope `tools/list` needs; `initialize` and notifications need no token at all. */
  listScope: string;
  /** Scope `tools/call` needs (space-separated; a token must hold each). */
  callScope: string;
  /** Advertise `client_id_metadata_document_supported` and take an https URL as a client id. */
  clientMetadataDocuments?: boolean;
  /** A client for the client_credentials grant (HTTP Basic); it is granted the scope it asks for. */
  clientCredentials?: { clientId: string; clientSecret: string };
}

const b64url = (buffer: Buffer) => buffer.toString('base64url');

/**
 * The server answers a request without a token 401 naming `listScope`, and a token short of the
 * method's scope 403 `insufficient_scope` naming it (step-up, as the MCP authorization spec has it).
 * The authorization server registers any client, grants what the authorization request asked for
 * (consent at once, PKCE S256), and issues refresh tokens that keep the granted scope.
 */
export async function startScopedOAuthFixture(options: ScopedOAuthOptions): Promise<ScopedOAuthFixture> {
  const codes = new Map<string, { challenge: string; scope: string }>();
  const tokens = new Map<string, string>(); // access or refresh token → scope
  const seen = {
    registrations: [] as Array<Record<string, unknown>>,
    authorizeRequests: [] as URLSearchParams[],
    clientCredentialScopes: [] as string[],
  };
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    void res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  const issue = (scope: string) => {
    const access = `at_${b64url(randomBytes(12))}`;
    const refresh = `rt_${b64url(randomBytes(12))}`;
    tokens.set(access, scope).set(refresh, scope);
    return { access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: 3600, scope };
  };

  const as = await listen(async (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/.well-known/oauth-authorization-server') {
      return json(
        res,
        200,
        authorizationServerMetadata(issuer, {
          ...(options.clientMetadataDocuments ? { client_id_metadata_document_supported: true } : {}),
          ...(options.clientCredentials
            ? {
                grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
                token_endpoint_auth_methods_supported: ['none', 'client_secret_basic'],
              }
            : {}),
        }),
      );
    }
    if (url.pathname === '/register') {
      const body = JSON.parse(await readBody(req)) as Record<string, unknown>;
      seen.registrations.push(body);
      return json(res, 201, { ...body, client_id: `client_${b64url(randomBytes(6))}` });
    }
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      seen.authorizeRequests.push(q);
      const code = `code_${b64url(randomBytes(9))}`;
      codes.set(code, { challenge: q.get('code_challenge') ?? '', scope: q.get('scope') ?? '' });
      const back = new URL(q.get('redirect_uri') ?? '');
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      return void res.writeHead(302, { location: back.href }).end();
    }
    if (url.pathname === '/token') {
      const form = new URLSearchParams(await readBody(req));
      if (form.get('grant_type') === 'client_credentials') {
        const client = options.clientCredentials;
        const basic = `Basic ${Buffer.from(`${client?.clientId}:${client?.clientSecret}`).toString('base64')}`;
        if (!client || req.headers.authorization !== basic) return json(res, 401, { error: 'invalid_client' });
        seen.clientCredentialScopes.push(form.get('scope') ?? '');
        const { refresh_token: _none, ...tokens } = issue(form.get('scope') ?? '');
        return json(res, 200, tokens);
      }
      if (form.get('grant_type') === 'refresh_token') {
        const scope = tokens.get(form.get('refresh_token') ?? '');
        return scope === undefined ? json(res, 400, { error: 'invalid_grant' }) : json(res, 200, issue(scope));
      }
      const grant = codes.get(form.get('code') ?? '');
      const challenge = b64url(
        createHash('sha256')
          .update(form.get('code_verifier') ?? '')
          .digest(),
      );
      if (!grant || grant.challenge !== challenge) return json(res, 400, { error: 'invalid_grant' });
      return json(res, 200, issue(grant.scope));
    }
    res.writeHead(404).end();
  });
  const issuer = as.url;

  const metadataPath = '/.well-known/oauth-protected-resource/mcp';
  const mcp = await listen(async (req, res) => {
    const origin = mcp.url;
    if (req.url === metadataPath) return json(res, 200, { resource: `${origin}/mcp`, authorization_servers: [issuer] });
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const body = JSON.parse(await readBody(req)) as { method?: string };
    const method = body.method ?? '';
    if (method !== 'initialize' && !method.startsWith('notifications/')) {
      const resourceMetadata = `resource_metadata="${origin}${metadataPath}"`;
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const held = token?.startsWith('at_') ? tokens.get(token) : undefined;
      if (held === undefined) {
        const challenge = `Bearer scope="${options.listScope}", ${resourceMetadata}`;
        return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': challenge });
      }
      const needed = method === 'tools/call' ? options.callScope : options.listScope;
      const granted = new Set(held.split(' '));
      if (!needed.split(' ').every((scope) => granted.has(scope))) {
        const challenge = `Bearer error="insufficient_scope", scope="${needed}", ${resourceMetadata}`;
        return json(res, 403, { error: 'insufficient_scope' }, { 'www-authenticate': challenge });
      }
    }
    const server = new McpServer({ name: 'scoped', version: '1.0.0' });
    server.registerTool('ping', { description: 'Answers pong' }, () => ({ content: [{ type: 'text', text: 'pong' }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    res.on('close', () => void server.close());
    await transport.handleRequest(req, res, body);
  });

  return {
    url: `${mcp.url}/mcp`,
    issuer,
    ...seen,
    close: async () => {
      await Promise.all([as.close(), mcp.close()]);
    },
  };
}

async function listen(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
