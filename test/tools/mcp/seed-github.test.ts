import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginMcpServer } from 'cadre/tools';
import { freePort } from './mcp-servers.js';
import { followInBrowser, startOAuthFixture, type OAuthFixture } from './oauth-server.js';
import { runWithServers } from './seed-servers.js';

// GitHub's remote MCP server needs the internet; its configuration path does not. The entry has the
// shape of GitHub's (an HTTP url, an OAuth app registered beforehand with a fixed loopback callback,
// a scope), pointed at the local authorization server and MCP server of the OAuth tests.
let fixture: OAuthFixture;
beforeAll(async () => {
  fixture = await startOAuthFixture();
});
afterAll(() => fixture.close());

describe('a GitHub-shaped HTTP MCP server entry with OAuth', { timeout: 60_000 }, () => {
  it('logs in with a pre-registered OAuth app, then a run calls its tool with the saved token', async () => {
    const redirectPort = await freePort();
    // Registering the OAuth app is done once, by hand, on GitHub; here, on the fixture.
    const registered = await fetch(`${fixture.issuer}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'cadre', redirect_uris: [`http://127.0.0.1:${redirectPort}/callback`] }),
    });
    const { client_id: clientId } = (await registered.json()) as { client_id: string };
    const github = {
      url: fixture.mcp.url,
      oauth: { clientId, scope: 'repo read:org', redirectPort },
      effects: { ping: 'read' },
    } as const;
    const dataDir = mkdtempSync(join(tmpdir(), 'cadre-seed-github-'));

    const login = await loginMcpServer({
      server: 'github',
      config: github,
      oauthDir: join(dataDir, 'mcp-auth'),
      onAuthorizationUrl: (url) => void followInBrowser(url),
    });
    expect(login).toEqual({ status: 'authorized' });
    expect(fixture.registrations).toHaveLength(1); // the app registered above; cadre registered nothing
    const asked = fixture.authorizeRequests[0]!;
    expect([asked.get('client_id'), asked.get('scope')]).toEqual([clientId, 'repo read:org']);
    expect(asked.get('redirect_uri')).toBe(`http://127.0.0.1:${redirectPort}/callback`);

    const { result, calls } = await runWithServers({
      goal: 'Is GitHub there?',
      respond: ({ call, toolResults }) =>
        call === 0 ? { toolCalls: [{ name: 'github__ping' }] } : `GitHub says ${toolResults[0]!.content}`,
      mcpServers: { github },
      toolPolicy: { approval: { write: 'deny' } },
      dataDir,
    });
    expect(result.status).toBe('completed');
    expect(calls).toEqual([expect.objectContaining({ tool: 'github__ping', ok: true, output: 'pong' })]);
    expect(result.answer).toBe('GitHub says pong');
    expect(fixture.tokenGrants).toEqual(['authorization_code']);
  });
});
