import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CadreError } from 'cadre';
import { createMcpToolset, loginMcpServer, parseMcpServers, type McpHttpServerConfig } from 'cadre/tools';
import { failureOf, followInBrowser } from './oauth-server.js';
import { testContext } from './mcp-servers.js';
import { startScopedOAuthFixture, type ScopedOAuthFixture, type ScopedOAuthOptions } from './scoped-oauth-server.js';

const fixtures: ScopedOAuthFixture[] = [];
const toolsets: Array<Awaited<ReturnType<typeof createMcpToolset>>> = [];
afterEach(async () => {
  await Promise.all(toolsets.splice(0).map((t) => t.close()));
  await Promise.all(fixtures.splice(0).map((f) => f.close()));
});

async function setUp(options: Partial<ScopedOAuthOptions> = {}, oauth: McpHttpServerConfig['oauth'] = undefined) {
  const fixture = await startScopedOAuthFixture({ listScope: 'tools:read', callScope: 'tools:read', ...options });
  fixtures.push(fixture);
  const oauthDir = join(mkdtempSync(join(tmpdir(), 'cadre-oauth-scopes-')), 'mcp-auth');
  const config: McpHttpServerConfig = { url: fixture.url, ...(oauth ? { oauth } : {}) };
  const login = () =>
    loginMcpServer({ server: 'scoped', config, oauthDir, onAuthorizationUrl: (url) => void followInBrowser(url) });
  const toolset = async () => {
    const opened = await createMcpToolset({ servers: { scoped: config }, oauthDir });
    toolsets.push(opened);
    return opened;
  };
  return { fixture, login, toolset };
}

const ping = async (toolset: Awaited<ReturnType<typeof createMcpToolset>>) => {
  const tool = toolset.tools().find((t) => t.name === 'scoped__ping');
  if (!tool) throw new Error(`scoped__ping not listed: ${JSON.stringify(toolset.status())}`);
  return tool.run({}, testContext());
};

describe('OAuth scopes of HTTP MCP servers', () => {
  it('logs in to a server that lets initialize through and wants a token from tools/list on', async () => {
    const { fixture, login, toolset } = await setUp();
    expect(await login()).toEqual({ status: 'authorized' });
    // The scope came from the 401 to tools/list: initialize alone would not have asked for a login.
    expect(fixture.authorizeRequests.map((q) => q.get('scope'))).toEqual(['tools:read']);
    expect(await ping(await toolset())).toBe('pong');
  });

  it('fails a call refused for want of scope with mcp_auth_required naming it, and the next login asks for it', async () => {
    const { fixture, login, toolset } = await setUp({ callScope: 'tools:read tools:write' });
    await login();
    const tools = await toolset();

    const error = await failureOf(ping(tools));
    expect(CadreError.isInstance(error) && error.code).toBe('mcp_auth_required');
    expect((error as Error).message).toContain('scope "tools:read tools:write"');
    expect((error as Error).message).toContain('cadre mcp login scoped');
    // Nothing was asked of a person during the run: only the first login's authorization request.
    expect(fixture.authorizeRequests).toHaveLength(1);

    await login();
    // A new authorization for the wider scope, not a refresh of the narrow one.
    expect(fixture.authorizeRequests[1]!.get('scope')!.split(' ').sort()).toEqual(['tools:read', 'tools:write']);
    expect(await ping(tools)).toBe('pong');
  });

  it('uses oauth.clientMetadataUrl as the client id where the authorization server accepts such documents', async () => {
    const clientMetadataUrl = 'https://cadre.example/oauth/client.json';
    const { fixture, login, toolset } = await setUp({ clientMetadataDocuments: true }, { clientMetadataUrl });
    await login();
    expect(fixture.registrations).toEqual([]);
    expect(fixture.authorizeRequests[0]!.get('client_id')).toBe(clientMetadataUrl);
    expect(await ping(await toolset())).toBe('pong');
  });

  it('registers as before where the authorization server does not accept client metadata documents', async () => {
    const clientMetadataUrl = 'https://cadre.example/oauth/client.json';
    const { fixture, login } = await setUp({}, { clientMetadataUrl });
    await login();
    expect(fixture.registrations).toHaveLength(1);
    expect(fixture.authorizeRequests[0]!.get('client_id')).not.toBe(clientMetadataUrl);
  });

  it('refuses a clientMetadataUrl that is not an https document URL, naming the field', () => {
    for (const clientMetadataUrl of ['http://cadre.example/client.json', 'https://cadre.example/']) {
      expect(() => parseMcpServers({ s: { url: 'https://mcp.example/mcp', oauth: { clientMetadataUrl } } })).toThrow(
        /mcpServers\.s\.oauth\.clientMetadataUrl/,
      );
    }
  });
});
