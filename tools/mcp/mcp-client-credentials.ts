import type {
  AddClientAuthentication,
  OAuthClientProvider,
  OAuthDiscoveryState,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { createPrivateKeyJwtAuth } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import type {
  OAuthClientInformation,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { CadreError } from '../../src/core/index.js';
import { readClientKey } from './mcp-client-key.js';
import type { McpClientCredentialsOptions } from './mcp-oauth-config.js';

/** One server's name and its `oauth` entry, which says `"grant": "client_credentials"`. */
export interface McpClientCredentialsProviderOptions {
  server: string;
  oauth: McpClientCredentialsOptions;
}

/**
 * cadre's OAuth client for a server reached with the `client_credentials` grant, for machines and
 * services where nobody logs in. The SDK's `auth()` does the work when the server answers 401:
 * discovery of the protected-resource metadata and the authorization server, then a token request
 * this provider shapes (`prepareTokenRequest`), authenticated with the client secret (HTTP Basic)
 * or a `private_key_jwt` assertion signed by the SDK's `createPrivateKeyJwtAuth`.
 *
 * Tokens are held in memory only, for as long as the connection lives, and never written to disk:
 * the configured credentials get a new one at any time without a person, so a saved token would
 * only give a copied data dir an hour's access without the secret. A token near the end of its
 * lifetime is dropped before it is sent, and a 401 asks for a new one.
 *
 * The credentials go to one authorization server: `oauth.issuer` when configured, else the first
 * one that issues a token; a server that later names another is refused.
 */
export class McpClientCredentialsProvider implements OAuthClientProvider {
  /** Signs the assertion for `private_key_jwt`; absent for a client secret (the SDK then sends HTTP Basic). */
  readonly addClientAuthentication?: AddClientAuthentication;
  private held: { tokens: OAuthTokens; staleAt: number } | undefined;
  /** The authorization server the credentials were first accepted by, as `auth()` stamps it. */
  private boundIssuer: string | undefined;
  private readonly server: string;
  private readonly oauth: McpClientCredentialsOptions;

  constructor(options: McpClientCredentialsProviderOptions) {
    this.server = options.server;
    this.oauth = options.oauth;
    const key = readClientKey(options.server, options.oauth);
    if (key) {
      // RFC 7523 §3: the client is both issuer and subject; the audience is the authorization server.
      this.addClientAuthentication = createPrivateKeyJwtAuth({
        issuer: this.oauth.clientId,
        subject: this.oauth.clientId,
        privateKey: key.pkcs8,
        alg: key.algorithm,
      });
    }
  }

  /** None: `auth()` takes its absence for a grant that needs no browser. */
  get redirectUrl(): undefined {
    return undefined;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.oauth.clientName ?? 'cadre',
      redirect_uris: [],
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: this.addClientAuthentication ? 'private_key_jwt' : 'client_secret_basic',
      ...(this.oauth.scope ? { scope: this.oauth.scope } : {}),
    };
  }

  clientInformation(): OAuthClientInformation {
    const issuer = this.oauth.issuer ?? this.boundIssuer;
    return {
      client_id: this.oauth.clientId,
      ...(this.oauth.clientSecret ? { client_secret: this.oauth.clientSecret } : {}),
      ...(issuer ? { issuer } : {}),
    };
  }

  /** Called by `auth()` once a token was issued, to bind the credentials to that authorization server. */
  saveClientInformation(client: OAuthClientInformation): void {
    if (typeof client.issuer === 'string') this.boundIssuer ??= client.issuer;
  }

  prepareTokenRequest(scope?: string): URLSearchParams {
    const params = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) params.set('scope', scope);
    return params;
  }

  tokens(): OAuthTokens | undefined {
    if (this.held && Date.now() >= this.held.staleAt) this.held = undefined;
    return this.held?.tokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    // Dropped a little before the server would refuse it, but never so early that a fresh token is stale.
    const lifetime = tokens.expires_in ?? Infinity;
    this.held = { tokens, staleAt: Date.now() + Math.max(lifetime - 30, lifetime / 2) * 1000 };
  }

  /**
   * Discovery found the authorization server to ask. The credentials are not shown to another than
   * the one they belong to: checked here, before any token request, with a message saying what to do.
   */
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    const bound = this.oauth.issuer ?? this.boundIssuer;
    if (bound && !sameIssuer(bound, state.authorizationServerUrl)) {
      throw new CadreError(
        'auth_failed',
        `MCP server "${this.server}" names the authorization server ${state.authorizationServerUrl}, but its ` +
          `client credentials belong to ${bound}: they were not sent. If the server really moved, set oauth.issuer`,
        { details: { server: this.server, issuer: bound, named: state.authorizationServerUrl } },
      );
    }
  }

  /**
   * The authorization server rejected the client (`invalid_client`, `unauthorized_client`): the
   * SDK would drop the client and try again, but configured credentials cannot be re-created, so
   * the connection fails at once, saying which fields to check.
   */
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    this.held = undefined;
    if (scope !== 'all' && scope !== 'client') return;
    const credential = this.addClientAuthentication ? 'the private key' : 'oauth.clientSecret';
    throw new CadreError(
      'auth_failed',
      `MCP server "${this.server}": its authorization server refused the client credentials; ` +
        `check oauth.clientId and ${credential}`,
      { details: { server: this.server, clientId: this.oauth.clientId } },
    );
  }

  /** A call refused for want of scope (403 `insufficient_scope`): the token has what `oauth.scope` asks. */
  scopeRequired(scope: string | undefined): CadreError {
    return new CadreError(
      'auth_failed',
      `MCP server "${this.server}" asks for more access than its token has` +
        (scope ? `: add "${scope}" to oauth.scope` : ': widen oauth.scope'),
      { details: { server: this.server, ...(scope ? { scope } : {}) } },
    );
  }

  redirectToAuthorization(): void {
    throw new CadreError('internal', `MCP server "${this.server}": the client_credentials grant opens no browser`);
  }

  saveCodeVerifier(): void {
    // No authorization code, so no PKCE verifier to keep.
  }

  codeVerifier(): string {
    throw new CadreError('internal', `MCP server "${this.server}": the client_credentials grant has no PKCE verifier`);
  }
}

/** Two authorization server URLs name the same server: compared as parsed, one trailing `/` aside. */
function sameIssuer(a: string, b: string): boolean {
  const normal = (url: string) => {
    try {
      return new URL(url).href.replace(/\/$/, '');
    } catch {
      return url.replace(/\/$/, '');
    }
  };
  return normal(a) === normal(b);
}
