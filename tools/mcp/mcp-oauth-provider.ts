import { randomBytes } from 'node:crypto';
import type { OAuthClientProvider, OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { CadreError } from '../../src/core/index.js';
import type { McpHttpServerConfig } from './mcp-config.js';
import type { McpOAuthStore } from './mcp-oauth-store.js';

/** The redirect URI a server's tokens were obtained with when nobody is logging in now. */
const backgroundRedirect = 'http://127.0.0.1/callback';

/** Where a provider is used: `cadre mcp login` (a person follows the URL), or a run (nobody does). */
export type McpOAuthMode =
  { kind: 'login'; redirectUrl: string; onAuthorizationUrl: (url: URL) => void } | { kind: 'background' };

/** The error a run gets when a server needs a login nobody can give now. */
export function mcpAuthRequired(server: string, reason: string): CadreError {
  return new CadreError(
    'mcp_auth_required',
    `MCP server "${server}" needs you to log in (${reason}): run \`cadre mcp login ${server}\``,
    { details: { server, command: `cadre mcp login ${server}` } },
  );
}

/**
 * cadre's OAuth 2.1 client for one HTTP MCP server, as the SDK's `auth()` and transports use it:
 * discovery and dynamic registration are the SDK's; this keeps what they find in the
 * {@link McpOAuthStore} (0600, per server) and decides what may happen without a person. In a run
 * (`background`) a stored refresh token is used, but nothing is registered and no browser is sent
 * anywhere: the server fails with `mcp_auth_required` naming `cadre mcp login <server>`.
 */
export class McpOAuthProvider implements OAuthClientProvider {
  private loginState: string | undefined;

  constructor(
    private readonly server: string,
    private readonly config: McpHttpServerConfig,
    private readonly store: McpOAuthStore,
    private readonly mode: McpOAuthMode,
  ) {}

  private get oauth() {
    return typeof this.config.oauth === 'object' ? this.config.oauth : {};
  }

  private record() {
    return this.store.read(this.server, this.config.url);
  }

  private update(change: Parameters<McpOAuthStore['update']>[2]): void {
    this.store.update(this.server, this.config.url, change);
  }

  get redirectUrl(): string {
    return this.mode.kind === 'login' ? this.mode.redirectUrl : backgroundRedirect;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.oauth.clientName ?? 'cadre',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: this.oauth.clientSecret ? 'client_secret_post' : 'none',
      ...(this.oauth.scope ? { scope: this.oauth.scope } : {}),
    };
  }

  /** Used as the client id where the authorization server accepts client metadata documents (no registration). */
  get clientMetadataUrl(): string | undefined {
    return this.oauth.clientMetadataUrl;
  }

  /** A fresh random `state` per authorization request, checked when the browser comes back. */
  state(): string {
    this.loginState = randomBytes(16).toString('base64url');
    return this.loginState;
  }

  /** The `state` the last authorization URL carried (login only). */
  expectedState(): string | undefined {
    return this.loginState;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    const { clientId, clientSecret } = this.oauth;
    if (clientId) return { client_id: clientId, ...(clientSecret ? { client_secret: clientSecret } : {}) };
    const client = this.record().client;
    // A registration made for another loopback port is not valid for this login's redirect URI.
    if (this.mode.kind === 'login' && client && 'redirect_uris' in client) {
      const uris = (client.redirect_uris as string[] | undefined) ?? [];
      if (!uris.includes(this.redirectUrl)) return undefined;
    }
    return client;
  }

  saveClientInformation(client: OAuthClientInformationMixed): void {
    if (this.mode.kind !== 'login' && !this.record().client) {
      throw mcpAuthRequired(this.server, 'cadre is not registered with its authorization server');
    }
    this.update((record) => ({ ...record, client }));
  }

  tokens(): OAuthTokens | undefined {
    return this.record().tokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.update(({ scope, ...record }) => ({
      ...record,
      // A login asked for the scope the server wanted; a refresh in a run did not.
      ...(this.mode.kind !== 'login' && scope ? { scope } : {}),
      tokens,
      savedAt: Date.now(),
    }));
  }

  /**
   * The server refused a request for want of scope (403 `insufficient_scope`). A refresh keeps the
   * login's scope and a run opens no browser, so the scope is kept for the next login, and the
   * request fails with `mcp_auth_required` saying so.
   */
  scopeRequired(scope: string | undefined): CadreError {
    if (scope) this.update((record) => ({ ...record, scope }));
    return mcpAuthRequired(
      this.server,
      scope ? `it asks for more access: scope "${scope}"` : 'it asks for more access',
    );
  }

  redirectToAuthorization(url: URL): void {
    if (this.mode.kind !== 'login') {
      throw mcpAuthRequired(this.server, this.record().tokens ? 'its login expired' : 'not logged in');
    }
    this.mode.onAuthorizationUrl(url);
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.update((record) => ({ ...record, codeVerifier }));
  }

  codeVerifier(): string {
    const verifier = this.record().codeVerifier;
    if (!verifier) throw mcpAuthRequired(this.server, 'no login in progress');
    return verifier;
  }

  saveDiscoveryState(discovery: OAuthDiscoveryState): void {
    this.update((record) => ({ ...record, discovery }));
  }

  /**
   * The first thing `auth()` asks after a 401. In a run, with no client registered by a login (or
   * configured), stop here: registering now would leave a client nobody can complete a login for.
   */
  discoveryState(): OAuthDiscoveryState | undefined {
    const record = this.record();
    if (this.mode.kind !== 'login' && !record.client && !this.oauth.clientId) {
      throw mcpAuthRequired(this.server, 'not logged in');
    }
    return record.discovery;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    this.update((record) => {
      const { client, tokens, savedAt, codeVerifier, discovery, ...rest } = record;
      if (scope === 'all') return rest;
      return {
        ...rest,
        ...(scope !== 'client' && client ? { client } : {}),
        ...(scope !== 'tokens' && tokens ? { tokens, ...(savedAt ? { savedAt } : {}) } : {}),
        ...(scope !== 'verifier' && codeVerifier ? { codeVerifier } : {}),
        ...(scope !== 'discovery' && discovery ? { discovery } : {}),
      };
    });
  }
}
