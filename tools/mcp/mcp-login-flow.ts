import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { auth, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CadreError } from '../../src/core/index.js';
import type { McpHttpServerConfig } from './mcp-config.js';
import { McpClientCredentialsProvider } from './mcp-client-credentials.js';
import { openMcpClient } from './mcp-client.js';
import { isClientCredentials, type McpClientCredentialsOptions } from './mcp-oauth-config.js';
import { McpOAuthProvider } from './mcp-oauth-provider.js';
import { McpOAuthStore } from './mcp-oauth-store.js';

/** One login to an OAuth-protected HTTP MCP server. */
export interface McpLoginOptions {
  server: string;
  config: McpHttpServerConfig;
  /** Where logins are kept: the data dir's `mcp-auth`. */
  oauthDir: string;
  /** Shown the authorization URL to open in a browser (the CLI prints it, and may open it). */
  onAuthorizationUrl: (url: URL) => void;
  /** How long to wait for the browser to come back. Default 5 minutes. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * What a login came to: `authorized` (tokens saved), or `not_required`: the server let cadre in
 * without one, or its entry has the `client_credentials` grant, with which cadre gets tokens by
 * itself (the credentials were checked; nothing saved).
 */
export type McpLoginResult = { status: 'authorized' | 'not_required' };

const page = (title: string) =>
  `<!doctype html><meta charset="utf-8"><title>cadre</title><p>${title}</p><p>You can close this window.</p>`;

/**
 * OAuth 2.1 authorization code + PKCE for one server, as the MCP authorization spec asks: the
 * server's 401 names its protected-resource metadata, the SDK's `auth()` discovers the authorization
 * server, registers cadre (unless `oauth.clientId` is configured), and builds the authorization URL;
 * the browser comes back to a listener on 127.0.0.1, whose `state` must match; the code is exchanged
 * and the tokens saved (0600). A server that does not ask for a login is left as it is.
 */
export async function runMcpLogin(options: McpLoginOptions): Promise<McpLoginResult> {
  const { server, config } = options;
  if (config.oauth === false) {
    throw new CadreError('config_invalid', `MCP server "${server}" has "oauth": false: there is nothing to log in to`);
  }
  if (isClientCredentials(config.oauth)) {
    return checkClientCredentials({ server, config, oauth: config.oauth, signal: options.signal });
  }
  const challenge = await probe(config, options.signal);
  if (!challenge) return { status: 'not_required' };

  const store = new McpOAuthStore(options.oauthDir);
  let provider: McpOAuthProvider | undefined;
  const callback = await listenForCallback(config.oauth ? config.oauth.redirectPort : undefined, () =>
    provider?.expectedState(),
  );
  try {
    provider = new McpOAuthProvider(server, config, store, {
      kind: 'login',
      redirectUrl: callback.redirectUrl,
      onAuthorizationUrl: options.onAuthorizationUrl,
    });
    // A run was refused for want of scope: ask for it too, and afresh, since a refresh would not grant it.
    const wanted = store.read(server, config.url).scope;
    if (wanted) provider.invalidateCredentials('tokens');
    const scope = joinScopes(challenge.scope, wanted);
    const flow = { serverUrl: config.url, ...challenge, ...(scope ? { scope } : {}) };
    if ((await auth(provider, flow)) === 'AUTHORIZED') return { status: 'authorized' };
    // RFC 9207: the response names the authorization server it came from, when its metadata says so.
    const metadata = provider.discoveryState()?.authorizationServerMetadata as
      { issuer?: string; authorization_response_iss_parameter_supported?: boolean } | undefined;
    const code = await callback.code(provider.expectedState(), options.timeoutMs ?? 5 * 60_000, options.signal, {
      issuer: metadata?.issuer,
      required: metadata?.authorization_response_iss_parameter_supported === true,
    });
    if ((await auth(provider, { ...flow, authorizationCode: code })) !== 'AUTHORIZED') {
      throw new CadreError('auth_failed', `MCP server "${server}": the authorization server did not issue tokens`);
    }
    return { status: 'authorized' };
  } catch (error) {
    if (CadreError.isInstance(error)) throw error;
    throw new CadreError('auth_failed', `Login to MCP server "${server}" failed: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await callback.close();
  }
}

/**
 * A server reached with client credentials needs no login: cadre gets its tokens by itself. It is
 * connected to once, as a run would (a token is asked for if the server wants one), so that bad
 * credentials show now, as `auth_failed`; nothing is saved.
 */
async function checkClientCredentials(options: {
  server: string;
  config: McpHttpServerConfig;
  oauth: McpClientCredentialsOptions;
  signal: AbortSignal | undefined;
}): Promise<McpLoginResult> {
  const { server, config, oauth, signal } = options;
  const authProvider = new McpClientCredentialsProvider({ server, oauth });
  try {
    const handle = await openMcpClient(config, { authProvider, signal });
    try {
      // Some servers let `initialize` through and want a token from the next request on.
      if (handle.client.getServerCapabilities()?.tools) await handle.client.listTools(undefined, { signal });
    } finally {
      await handle.close();
    }
    return { status: 'not_required' };
  } catch (error) {
    if (CadreError.isInstance(error)) throw error;
    // The authorization server's refusals (invalid_scope, unsupported_grant_type…) are a matter of
    // the credentials; anything else is the server's, as for any connection. The SDK's OAuth errors
    // are told by their `errorCode`, since `instanceof` fails across two copies of the SDK.
    const oauthError = (error as { errorCode?: unknown }).errorCode;
    const code = typeof oauthError === 'string' ? 'auth_failed' : 'tool_failed';
    const reason =
      typeof oauthError === 'string' ? `${oauthError}: ${(error as Error).message}` : (error as Error).message;
    throw new CadreError(code, `MCP server "${server}": ${reason}`, { cause: error });
  }
}

/**
 * Connects with no token and lists the tools, as a run starts: the first 401 to a request says a
 * login is needed, and its `WWW-Authenticate` names the resource metadata and scope to ask for. A
 * server may let `initialize` through and want a token only from the next request on.
 */
async function probe(config: McpHttpServerConfig, signal?: AbortSignal) {
  let challenge: Response | undefined;
  let unreachable: unknown;
  const watching: FetchLike = async (input, init) => {
    // Only requests count: the event stream the SDK opens on the side may be refused on its own terms.
    const request = init?.method === 'POST';
    try {
      const response = await fetch(input, init);
      if (request && response.status === 401) challenge ??= response;
      return response;
    } catch (error) {
      if (request) unreachable ??= error;
      throw error;
    }
  };
  const client = new Client({ name: 'cadre', version: '0.1.0' });
  const transport = new StreamableHTTPClientTransport(new URL(config.url), {
    ...(config.headers ? { requestInit: { headers: config.headers } } : {}),
    fetch: watching,
  });
  try {
    await client.connect(transport, signal ? { signal } : undefined);
    if (client.getServerCapabilities()?.tools) await client.listTools(undefined, signal ? { signal } : undefined);
  } catch {
    // A refusal is what this looks for; any other failure is not a login's business.
  } finally {
    await client.close().catch(() => undefined);
  }
  if (challenge) {
    const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(challenge);
    return { ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}), ...(scope ? { scope } : {}) };
  }
  if (unreachable) {
    const reason = unreachable instanceof Error ? unreachable.message : String(unreachable);
    throw new CadreError('tool_failed', `Cannot reach MCP server at ${config.url}: ${reason}`, { cause: unreachable });
  }
  return undefined;
}

/** Space-separated scopes, each once, in the order first named. */
function joinScopes(...lists: Array<string | undefined>): string | undefined {
  const scopes = new Set(lists.flatMap((list) => list?.split(' ').filter(Boolean) ?? []));
  return scopes.size ? [...scopes].join(' ') : undefined;
}

/**
 * A listener on 127.0.0.1 for the browser's return to `/callback`. Its page says the login worked
 * only for a return with the `state` this login sent (`expected`) and a code; the first return of
 * any kind ends the wait, and `code()` refuses the wrong ones.
 */
async function listenForCallback(port = 0, expected: () => string | undefined) {
  let deliver: ((query: URLSearchParams) => void) | undefined;
  const arrived = new Promise<URLSearchParams>((resolve) => (deliver = resolve));
  const listener = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method !== 'GET' || url.pathname !== '/callback') {
      response.writeHead(404).end();
      return;
    }
    const state = expected();
    const ours = state !== undefined && url.searchParams.get('state') === state;
    const ok = ours && !url.searchParams.has('error') && url.searchParams.has('code');
    response
      .writeHead(ok ? 200 : 400, { 'content-type': 'text/html; charset=utf-8' })
      .end(
        page(
          ok
            ? 'Logged in: cadre has what it needs.'
            : ours
              ? 'The login did not complete.'
              : 'This is not the login cadre started: refused.',
        ),
      );
    deliver?.(url.searchParams);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new CadreError(
              'config_invalid',
              `Port ${port} on 127.0.0.1, where the browser comes back after the login (redirectPort), is in use: free it or configure another`,
              { cause: error },
            )
          : error,
      ),
    );
    listener.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = listener.address() as AddressInfo;
  return {
    redirectUrl: `http://127.0.0.1:${bound}/callback`,
    /** The authorization code, once the browser comes back with the `state` this login sent. */
    async code(
      state: string | undefined,
      timeoutMs: number,
      signal?: AbortSignal,
      iss: { issuer?: string | undefined; required: boolean } = { required: false },
    ): Promise<string> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new CadreError('timeout', `No login came back within ${Math.round(timeoutMs / 1000)} s`)),
          timeoutMs,
        );
        signal?.addEventListener('abort', () => reject(new CadreError('cancelled', 'Login cancelled')), {
          once: true,
        });
      });
      try {
        const query = await Promise.race([arrived, timeout]);
        if (query.has('error')) {
          const reason = query.get('error_description') ?? query.get('error');
          throw new CadreError('auth_failed', `The authorization server refused the login: ${reason}`);
        }
        // A response to some other request (or forged): its state is not the one this login sent.
        if (!state || query.get('state') !== state) {
          throw new CadreError('auth_failed', 'The login came back with a state this login did not send; refused');
        }
        // A response from another authorization server (a mix-up) is refused before its code is used.
        const from = query.get('iss');
        if (iss.issuer !== undefined && (from === null ? iss.required : from !== iss.issuer)) {
          throw new CadreError(
            'auth_failed',
            from === null
              ? `The login came back without the issuer its authorization server (${iss.issuer}) says it sends; refused`
              : `The login came back from ${from}, not from the authorization server it went to (${iss.issuer}); refused`,
          );
        }
        const code = query.get('code');
        if (!code) throw new CadreError('auth_failed', 'The login came back without an authorization code');
        return code;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        listener.close(() => resolve());
        listener.closeAllConnections();
      }),
  };
}
