import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { CadreError } from 'cadre';
import { loginMcpServer, type createMcpToolset, type McpHttpServerConfig } from 'cadre/tools';
import { failureOf, startOAuthFixture, type OAuthFixture, type OAuthFixtureOptions } from './oauth-server.js';
import { testContext } from './mcp-servers.js';
import { startScopedOAuthFixture, type ScopedOAuthFixture } from './scoped-oauth-server.js';
import { recordingToolset } from './recording-toolset.js';

const clientId = 'reports-service';
const secret = 'cs_4b7e0f1d9a2c48e6b3f5a7c9d1e3f5a7';

const fixtures: Array<OAuthFixture | ScopedOAuthFixture> = [];
const toolsets: Array<Awaited<ReturnType<typeof createMcpToolset>>> = [];
afterEach(async () => {
  await Promise.all(toolsets.splice(0).map((t) => t.close()));
  await Promise.all(fixtures.splice(0).map((f) => f.close()));
});

async function fixtureWith(options: OAuthFixtureOptions) {
  const fixture = await startOAuthFixture(options);
  fixtures.push(fixture);
  return fixture;
}

const scratch = () => mkdtempSync(join(tmpdir(), 'cadre-oauth-cc-'));

/** A toolset on `config` whose logs and events are kept, to look for secrets in them. */
async function toolsetOn(config: McpHttpServerConfig) {
  const oauthDir = join(scratch(), 'mcp-auth');
  const recorded = await recordingToolset(config, oauthDir);
  toolsets.push(recorded.toolset);
  return { ...recorded, oauthDir };
}

const ping = async (toolset: Awaited<ReturnType<typeof createMcpToolset>>, server = 'secure') => {
  const tool = toolset.tools().find((t) => t.name === `${server}__ping`);
  if (!tool) throw new Error(`${server}__ping not listed: ${JSON.stringify(toolset.status())}`);
  return tool.run({}, testContext());
};

const clientCredentials = (url: string, extra: Record<string, unknown>): McpHttpServerConfig => ({
  url,
  oauth: { grant: 'client_credentials', clientId, ...extra },
});

/** A key pair; the private half as PEM in the form given (PKCS#1 and SEC1 are what older tools write). */
function keyPair(kind: 'rsa' | 'ec', type: 'pkcs1' | 'sec1' | 'pkcs8') {
  const { publicKey, privateKey } =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { publicKey, pem: privateKey.export({ type, format: 'pem' }).toString() };
}

function keyFile(pem: string): string {
  const file = join(scratch(), 'client-key.pem');
  writeFileSync(file, pem, { mode: 0o600 });
  return file;
}

/** The long base64 line of a PEM: found in a log only if the key leaked. */
const keyBody = (pem: string) => pem.split('\n').find((line) => line.length >= 60)!;

describe('OAuth client_credentials for HTTP MCP servers', () => {
  it('calls a tool with client_secret_basic: no login, no registration, a token for this server, nothing saved', async () => {
    const fixture = await fixtureWith({ clientCredentials: { clientId, clientSecret: secret } });
    const { toolset, oauthDir, seen, failures } = await toolsetOn(
      clientCredentials(fixture.mcp.url, { clientSecret: secret }),
    );

    expect(await ping(toolset)).toBe('pong');
    expect(failures()).toEqual([]);
    expect(fixture.tokenGrants).toEqual(['client_credentials']);
    expect(fixture.clientAuthentications).toEqual(['client_secret_basic']);
    expect(fixture.tokenForms[0]!.get('resource')).toBe(fixture.mcp.url);
    expect(fixture.tokenForms[0]!.has('client_secret')).toBe(false);
    expect(fixture.registrations).toEqual([]);
    expect(fixture.authorizeRequests).toEqual([]);
    // Tokens live in memory: the data dir gets no file, so nothing at rest holds them.
    expect(existsSync(oauthDir)).toBe(false);
    expect(seen()).not.toContain(secret);
    for (const token of fixture.issued) expect(seen()).not.toContain(token);
  });

  it('signs a private_key_jwt assertion with an RSA key from a PKCS#1 file, RS256 by default', async () => {
    const { publicKey, pem } = keyPair('rsa', 'pkcs1');
    const fixture = await fixtureWith({ clientCredentials: { clientId, publicKey } });
    const { toolset, oauthDir, seen, failures } = await toolsetOn(
      clientCredentials(fixture.mcp.url, { privateKeyFile: keyFile(pem) }),
    );

    expect(await ping(toolset)).toBe('pong');
    expect(failures()).toEqual([]);
    expect(fixture.clientAuthentications).toEqual(['private_key_jwt']);
    const assertion = fixture.tokenForms[0]!.get('client_assertion')!;
    expect(decodeProtectedHeader(assertion).alg).toBe('RS256');
    expect(existsSync(oauthDir)).toBe(false);
    expect(seen()).not.toContain(keyBody(pem));
    expect(seen()).not.toContain(assertion);
  });

  it('signs with an EC key from an environment variable (line breaks written as \\n), ES256 by its curve', async () => {
    const { publicKey, pem } = keyPair('ec', 'sec1');
    const fixture = await fixtureWith({ clientCredentials: { clientId, publicKey } });
    process.env.CADRE_TEST_MCP_CLIENT_KEY = pem.replace(/\n/g, '\\n');
    try {
      const { toolset, seen } = await toolsetOn(
        clientCredentials(fixture.mcp.url, { privateKeyEnv: 'CADRE_TEST_MCP_CLIENT_KEY' }),
      );
      expect(await ping(toolset)).toBe('pong');
      expect(decodeProtectedHeader(fixture.tokenForms[0]!.get('client_assertion')!).alg).toBe('ES256');
      expect(seen()).not.toContain(keyBody(pem));
    } finally {
      delete process.env.CADRE_TEST_MCP_CLIENT_KEY;
    }
  });

  it('asks for a new token, with a new assertion, when the server refuses the old one mid-session', async () => {
    const { publicKey, pem } = keyPair('ec', 'pkcs8');
    const fixture = await fixtureWith({ clientCredentials: { clientId, publicKey } });
    const { toolset, failures } = await toolsetOn(clientCredentials(fixture.mcp.url, { privateKeyFile: keyFile(pem) }));
    expect(await ping(toolset)).toBe('pong');
    fixture.expireAccessTokens();
    // The fixture refuses an assertion it has seen, so this passes only with a freshly signed one.
    expect(await ping(toolset)).toBe('pong');
    expect(fixture.tokenGrants).toEqual(['client_credentials', 'client_credentials']);
    expect(fixture.clientAuthentications).toEqual(['private_key_jwt', 'private_key_jwt']);
    expect(failures()).toEqual([]);
  });

  it('asks for a new token before the old one runs out rather than send it stale', async () => {
    const fixture = await fixtureWith({ clientCredentials: { clientId, clientSecret: secret }, expiresIn: 1 });
    const { toolset } = await toolsetOn(clientCredentials(fixture.mcp.url, { clientSecret: secret }));
    expect(await ping(toolset)).toBe('pong');
    expect(fixture.tokenGrants).toHaveLength(1);
    await sleep(700);
    // The server would still take the first token (it never expires it); cadre no longer sends it.
    expect(await ping(toolset)).toBe('pong');
    expect(fixture.tokenGrants).toEqual(['client_credentials', 'client_credentials']);
  });

  it('fails at once with auth_failed naming the fields when the secret is wrong: one request, nothing stored', async () => {
    const fixture = await fixtureWith({ clientCredentials: { clientId, clientSecret: secret } });
    const wrong = 'cs_0000wrong0000secret0000wrong0000';
    const started = Date.now();
    const { toolset, oauthDir, seen, failures } = await toolsetOn(
      clientCredentials(fixture.mcp.url, { clientSecret: wrong }),
    );

    expect(failures()).toEqual([expect.objectContaining({ code: 'auth_failed' })]);
    expect(failures()[0]!.message).toContain('check oauth.clientId and oauth.clientSecret');
    expect(toolset.status()[0]).toMatchObject({ state: 'failed' });
    // Refused, not retried: credentials that were wrong a moment ago are wrong now.
    expect(fixture.tokenGrants).toEqual(['client_credentials']);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(existsSync(oauthDir)).toBe(false);
    expect(seen()).not.toContain(wrong);
    expect(seen()).not.toContain('mcp_auth_required');
  });

  it('sends the credentials to no authorization server but the configured issuer', async () => {
    const fixture = await fixtureWith({ clientCredentials: { clientId, clientSecret: secret } });
    const { toolset, failures } = await toolsetOn(
      clientCredentials(fixture.mcp.url, { clientSecret: secret, issuer: 'https://login.example.com/' }),
    );
    expect(failures()).toEqual([expect.objectContaining({ code: 'auth_failed' })]);
    expect(failures()[0]!.message).toContain('belong to https://login.example.com/');
    expect(toolset.tools()).toEqual([]);
    expect(fixture.tokenGrants).toEqual([]);
  });

  it('keeps sending the credentials to the authorization server that first accepted them', async () => {
    const fixture = await fixtureWith({ clientCredentials: { clientId, clientSecret: secret } });
    const other = await fixtureWith({ clientCredentials: { clientId, clientSecret: secret } });
    const { toolset } = await toolsetOn(clientCredentials(fixture.mcp.url, { clientSecret: secret }));
    expect(await ping(toolset)).toBe('pong');

    // The server now names another authorization server and refuses the token it has.
    fixture.advertiseAuthorizationServer(other.issuer);
    fixture.expireAccessTokens();
    const error = await failureOf(ping(toolset));
    expect(CadreError.isInstance(error) && error.code).toBe('auth_failed');
    expect((error as Error).message).toContain(`belong to ${fixture.issuer}`);
    expect(other.tokenGrants).toEqual([]);
  });

  it('`cadre mcp login` checks the credentials with a token request and opens no browser', async () => {
    const fixture = await fixtureWith({ clientCredentials: { clientId, clientSecret: secret } });
    const oauthDir = join(scratch(), 'mcp-auth');
    const login = (clientSecret: string) =>
      loginMcpServer({
        server: 'secure',
        config: clientCredentials(fixture.mcp.url, { clientSecret }),
        oauthDir,
        onAuthorizationUrl: () => {
          throw new Error('a client_credentials server sent cadre to a browser');
        },
      });

    expect(await login(secret)).toEqual({ status: 'not_required' });
    expect(fixture.tokenGrants).toEqual(['client_credentials']);
    expect(existsSync(oauthDir)).toBe(false);

    const error = await failureOf(login('cs_wrong'));
    expect(CadreError.isInstance(error) && error.code).toBe('auth_failed');
    expect((error as Error).message).toContain('oauth.clientSecret');
    expect(fixture.authorizeRequests).toEqual([]);
  });

  it('asks for oauth.scope, and a call refused for want of scope names the scope to add to it', async () => {
    const scoped = await startScopedOAuthFixture({
      listScope: 'tools:read',
      callScope: 'tools:read tools:write',
      clientCredentials: { clientId, clientSecret: secret },
    });
    fixtures.push(scoped);
    const narrow = await toolsetOn(clientCredentials(scoped.url, { clientSecret: secret, scope: 'tools:read' }));
    const error = await failureOf(ping(narrow.toolset));
    expect(CadreError.isInstance(error) && error.code).toBe('auth_failed');
    expect((error as Error).message).toContain('add "tools:read tools:write" to oauth.scope');
    expect(narrow.seen()).not.toContain('mcp_auth_required');

    const wide = await toolsetOn(
      clientCredentials(scoped.url, { clientSecret: secret, scope: 'tools:read tools:write' }),
    );
    expect(await ping(wide.toolset)).toBe('pong');
    expect(scoped.clientCredentialScopes).toEqual(['tools:read', 'tools:read tools:write']);
    expect(scoped.authorizeRequests).toEqual([]);
  });

  it.each([
    ['a file that holds no private key', () => ({ privateKeyFile: keyFile('not a key\n') }), /oauth\.privateKeyFile:/],
    [
      'an EC key with signingAlgorithm RS256',
      () => ({ privateKeyFile: keyFile(keyPair('ec', 'pkcs8').pem), signingAlgorithm: 'RS256' }),
      /oauth\.signingAlgorithm: RS256 does not fit the ec \(prime256v1\) key; use ES256/,
    ],
  ])('fails with config_invalid, asking nothing of the server, for %s', async (_, oauth, message) => {
    const fixture = await fixtureWith({ clientCredentials: { clientId } });
    const { failures } = await toolsetOn(clientCredentials(fixture.mcp.url, oauth()));
    expect(failures()).toEqual([expect.objectContaining({ code: 'config_invalid' })]);
    expect(failures()[0]!.message).toMatch(message);
    expect(fixture.tokenGrants).toEqual([]);
  });
});
