// A local OAuth 2.1 authorization server and an MCP server it protects, on loopback; not a test file itself.
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { startRecordingServer, type RecordingServer } from './recording-http-server.js';

interface Client {
  client_id: string;
  redirect_uris: string[];
}
interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  resource: string | null;
}

/** What the authorization server saw, and handles to change what it will accept. */
export interface OAuthFixture {
  /** The protected MCP server (tool `ping` answers `pong`). */
  mcp: RecordingServer;
  issuer: string;
  registrations: Client[];
  /** Every `/authorize` request's query. */
  authorizeRequests: URLSearchParams[];
  /** `grant_type` of every token request, in order. */
  tokenGrants: string[];
  /** How each client_credentials request authenticated: `client_secret_basic`, `private_key_jwt`, or `none`. */
  clientAuthentications: string[];
  /** Every token request's form, as sent. */
  tokenForms: URLSearchParams[];
  /** Every access and refresh token issued. */
  issued: string[];
  /** From now on every access token issued so far is rejected as expired. */
  expireAccessTokens(): void;
  /** From now on every token issued so far (access and refresh) is rejected. */
  revokeAll(): void;
  /** From now on the MCP server's resource metadata names this authorization server instead. */
  advertiseAuthorizationServer(url: string): void;
  close(): Promise<void>;
}

const b64url = (buffer: Buffer) => buffer.toString('base64url');

/** What `startOAuthFixture` may be asked for. */
export interface OAuthFixtureOptions {
  advertisedResource?: (mcpUrl: string) => string;
  /**
   * A pre-registered client for the client_credentials grant, authenticated with `clientSecret`
   * (HTTP Basic) or with a `client_assertion` JWT that `publicKey` verifies (RFC 7523).
   */
  clientCredentials?: { clientId: string; clientSecret?: string; publicKey?: KeyObject };
  /** Lifetime of access tokens, in seconds. Default 3600. */
  expiresIn?: number;
  /**
   * A misconfigured authorization server: `/authorize` issues a code for any `redirect_uri`, not
   * only a registered one. The token endpoint still refuses a code exchanged with another URI.
   */
  anyRedirectUri?: boolean;
  /**
   * A hostile authorization server: sends the browser, with the code and state, to this URL instead
   * of the redirect URI it was asked for (the code stays bound to that one).
   */
  redirectBrowserTo?: (requested: string) => string;
  /**
   * RFC 9207: the metadata says the authorization response carries `iss`, and it does: this server's
   * issuer (`'own'`), another one (`'other'`, a mix-up attack), or none after all (`'missing'`).
   */
  issParameter?: 'own' | 'other' | 'missing';
}

/**
 * The authorization server follows the spec's MCP profile: metadata (RFC 8414), dynamic client
 * registration (RFC 7591) for loopback redirect URIs only, authorization code with PKCE S256 (the
 * user's consent is given at once), refresh with rotation, and resource indicators (RFC 8707):
 * a token is valid only for the resource it was issued for. The MCP server answers 401 with its
 * protected-resource metadata (RFC 9728), which names `advertisedResource` (default: its own URL).
 * With `clientCredentials`, it also grants client_credentials (OAuth 2.1 §4.2) to that one client,
 * access tokens only; a wrong secret or a bad, reused or misaddressed assertion is `invalid_client`.
 */
export async function startOAuthFixture(options: OAuthFixtureOptions = {}) {
  const clients = new Map<string, Client>();
  const codes = new Map<string, Grant>();
  const access = new Map<string, { resource: string | null; valid: boolean }>();
  const refresh = new Map<string, { clientId: string; resource: string | null; valid: boolean }>();
  const seen = {
    registrations: [] as Client[],
    authorizeRequests: [] as URLSearchParams[],
    tokenGrants: [] as string[],
    clientAuthentications: [] as string[],
    tokenForms: [] as URLSearchParams[],
    issued: [] as string[],
  };
  const assertionIds = new Set<string>();
  let advertisedServer: string | undefined;

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const expiresIn = options.expiresIn ?? 3600;
  const issue = (clientId: string, resource: string | null) => {
    const accessToken = `at_${b64url(randomBytes(18))}`;
    const refreshToken = `rt_${b64url(randomBytes(18))}`;
    access.set(accessToken, { resource, valid: true });
    refresh.set(refreshToken, { clientId, resource, valid: true });
    seen.issued.push(accessToken, refreshToken);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn, refresh_token: refreshToken };
  };
  /** client_credentials: an access token alone, as OAuth 2.1 has it (no refresh token). */
  const issueToClient = (resource: string | null) => {
    const accessToken = `at_${b64url(randomBytes(18))}`;
    access.set(accessToken, { resource, valid: true });
    seen.issued.push(accessToken);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn };
  };
  /** How a client_credentials request authenticated, or undefined when it did not as the client must. */
  async function authenticatedBy(req: IncomingMessage, form: URLSearchParams): Promise<string | undefined> {
    const client = options.clientCredentials;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (basic) {
      const decoded = Buffer.from(basic, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const ok = client?.clientSecret && decoded.slice(0, colon) === client.clientId;
      return ok && decoded.slice(colon + 1) === client.clientSecret ? 'client_secret_basic' : undefined;
    }
    const assertion = form.get('client_assertion');
    if (assertion && client?.publicKey) {
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return;
      try {
        const { payload } = await jwtVerify(assertion, client.publicKey, {
          issuer: client.clientId,
          subject: client.clientId,
          audience: [issuer, `${issuer}/`],
        });
        // An assertion is good for one request: a replayed one is refused.
        if (!payload.jti || assertionIds.has(payload.jti)) return undefined;
        assertionIds.add(payload.jti);
        return 'private_key_jwt';
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  const as = createServer((req, res) => {
    void handleAs(req, res).catch((error: unknown) =>
      json(res, 500, { error: 'server_error', message: String(error) }),
    );
  });
  async function handleAs(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/.well-known/oauth-authorization-server') {
      return json(
        res,
        200,
        authorizationServerMetadata(
          issuer,
          options.clientCredentials
            ? {
                grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
                token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'private_key_jwt'],
                token_endpoint_auth_signing_alg_values_supported: ['RS256', 'ES256'],
              }
            : options.issParameter
              ? { authorization_response_iss_parameter_supported: true }
              : {},
        ),
      );
    }
    if (url.pathname === '/register' && req.method === 'POST') {
      const body = JSON.parse(await readBody(req)) as { redirect_uris?: string[] };
      const uris = body.redirect_uris ?? [];
      if (!uris.length || !uris.every((u) => /^http:\/\/127\.0\.0\.1:\d+\//.test(u))) {
        return json(res, 400, { error: 'invalid_redirect_uri' });
      }
      const client = { ...body, client_id: `client_${b64url(randomBytes(8))}`, redirect_uris: uris };
      clients.set(client.client_id, client);
      seen.registrations.push(client);
      return json(res, 201, client);
    }
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      seen.authorizeRequests.push(q);
      const client = clients.get(q.get('client_id') ?? '');
      const redirectUri = q.get('redirect_uri') ?? '';
      // A redirect URI the client did not register is never redirected to (unless `anyRedirectUri`).
      const registered = client?.redirect_uris.includes(redirectUri) || options.anyRedirectUri;
      if (!client || !registered) return json(res, 400, { error: 'invalid_request' });
      if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
        return json(res, 400, { error: 'invalid_request', error_description: 'PKCE S256 required' });
      }
      const code = `code_${b64url(randomBytes(12))}`;
      codes.set(code, {
        clientId: client.client_id,
        redirectUri,
        challenge: q.get('code_challenge')!,
        resource: q.get('resource'),
      });
      const back = new URL(options.redirectBrowserTo?.(redirectUri) ?? redirectUri);
      back.searchParams.set('code', code);
      if (q.get('state')) back.searchParams.set('state', q.get('state')!);
      if (options.issParameter === 'own') back.searchParams.set('iss', issuer);
      if (options.issParameter === 'other') back.searchParams.set('iss', 'http://127.0.0.1:9/elsewhere');
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      const grantType = form.get('grant_type') ?? '';
      seen.tokenGrants.push(grantType);
      seen.tokenForms.push(form);
      if (grantType === 'client_credentials' && options.clientCredentials) {
        const method = await authenticatedBy(req, form);
        seen.clientAuthentications.push(method ?? 'none');
        if (!method)
          return json(res, 401, { error: 'invalid_client', error_description: 'client authentication failed' });
        return json(res, 200, issueToClient(form.get('resource')));
      }
      if (grantType === 'authorization_code') {
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const challenge = b64url(createHash('sha256').update(verifier).digest());
        if (
          !grant ||
          grant.clientId !== form.get('client_id') ||
          grant.redirectUri !== form.get('redirect_uri') ||
          grant.challenge !== challenge
        ) {
          return json(res, 400, { error: 'invalid_grant' });
        }
        return json(res, 200, issue(grant.clientId, grant.resource));
      }
      if (grantType === 'refresh_token') {
        const token = form.get('refresh_token') ?? '';
        const held = refresh.get(token);
        if (!held?.valid || held.clientId !== form.get('client_id')) return json(res, 400, { error: 'invalid_grant' });
        held.valid = false; // rotation: a refresh token is used once
        return json(res, 200, issue(held.clientId, held.resource));
      }
      return json(res, 400, { error: 'unsupported_grant_type' });
    }
    res.writeHead(404).end();
  }
  await new Promise<void>((resolve) => as.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(as.address() as AddressInfo).port}`;

  let mcpUrl = '';
  const metadataPath = '/.well-known/oauth-protected-resource/mcp';
  const mcp = await startRecordingServer({
    register: (server) =>
      server.registerTool('ping', { description: 'Answers pong' }, () => ({
        content: [{ type: 'text', text: 'pong' }],
      })),
    guard: (req, res) => {
      const origin = new URL(mcpUrl).origin;
      if (req.url === metadataPath) {
        json(res, 200, {
          resource: options.advertisedResource?.(mcpUrl) ?? mcpUrl,
          authorization_servers: [advertisedServer ?? issuer],
        });
        return true;
      }
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const held = token ? access.get(token) : undefined;
      // Valid, and issued for this server: a token meant for another resource is refused.
      if (held?.valid && held.resource === mcpUrl) return false;
      res
        .writeHead(401, { 'www-authenticate': `Bearer resource_metadata="${origin}${metadataPath}"` })
        .end(JSON.stringify({ error: 'invalid_token' }));
      return true;
    },
  });
  mcpUrl = mcp.url;

  const fixture: OAuthFixture = {
    mcp,
    issuer,
    ...seen,
    expireAccessTokens: () => access.forEach((t) => (t.valid = false)),
    revokeAll: () => {
      access.forEach((t) => (t.valid = false));
      refresh.forEach((t) => (t.valid = false));
    },
    advertiseAuthorizationServer: (url) => (advertisedServer = url),
    close: async () => {
      await mcp.close();
      as.closeAllConnections();
      await new Promise<void>((resolve) => as.close(() => resolve()));
    },
  };
  return fixture;
}

/** RFC 8414 metadata of a test authorization server at `issuer`: code + PKCE S256, refresh, public clients. */
export function authorizationServerMetadata(issuer: string, extra: Record<string, unknown> = {}) {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    registration_endpoint: `${issuer}/register`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
    ...extra,
  };
}

/** What `promise` rejects with; a promise that resolves fails the test. */
export async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

/** Plays the browser: follows the authorization URL to the redirect, and delivers it to the callback. */
export async function followInBrowser(url: URL): Promise<void> {
  const response = await fetch(url, { redirect: 'manual' });
  const location = response.headers.get('location');
  if (!location) throw new Error(`authorization did not redirect: ${response.status} ${await response.text()}`);
  await (await fetch(location)).text();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
