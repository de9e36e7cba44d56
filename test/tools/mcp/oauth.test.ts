import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CadreError } from 'cadre';
import { loginMcpServer, type McpToolset } from 'cadre/tools';
import { failureOf, followInBrowser, startOAuthFixture, type OAuthFixture } from './oauth-server.js';
import { testContext } from './mcp-servers.js';
import { startRecordingServer } from './recording-http-server.js';
import { recordingToolset } from './recording-toolset.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixtures: OAuthFixture[] = [];
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.close()));
});

async function setUp(options: Parameters<typeof startOAuthFixture>[0] = {}) {
  const fixture = await startOAuthFixture(options);
  fixtures.push(fixture);
  const oauthDir = join(mkdtempSync(join(tmpdir(), 'cadre-oauth-')), 'mcp-auth');
  const config = { url: fixture.mcp.url };
  return { fixture, oauthDir, config };
}

const toolsetOn = (config: { url: string }, oauthDir: string) => recordingToolset(config, oauthDir);

const ping = async (toolset: McpToolset) => {
  const tool = (await toolset.refresh(), toolset.tools().find((t) => t.name === 'secure__ping'));
  if (!tool) throw new Error('secure__ping not listed');
  return tool.run({}, testContext());
};

describe('OAuth 2.1 for HTTP MCP servers', () => {
  it('logs in with discovery, dynamic registration and PKCE, saves tokens 0600, and calls the server with them', async () => {
    const { fixture, oauthDir, config } = await setUp();
    let shown: URL | undefined;
    const result = await loginMcpServer({
      server: 'secure',
      config,
      oauthDir,
      onAuthorizationUrl: (url) => {
        shown = url;
        void followInBrowser(url);
      },
    });
    expect(result).toEqual({ status: 'authorized' });
    // Discovery led to this authorization server; cadre registered itself with a loopback redirect.
    expect(shown!.origin).toBe(fixture.issuer);
    expect(fixture.registrations).toHaveLength(1);
    expect(fixture.registrations[0]!.redirect_uris[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    const asked = fixture.authorizeRequests[0]!;
    expect(asked.get('code_challenge_method')).toBe('S256');
    expect(asked.get('resource')).toBe(fixture.mcp.url);
    expect(asked.get('state')).toMatch(/^[\w-]{16,}$/);
    expect(fixture.tokenGrants).toEqual(['authorization_code']);

    const files = readdirSync(oauthDir);
    expect(files).toHaveLength(1);
    expect(statSync(oauthDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(oauthDir, files[0]!)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(oauthDir, files[0]!), 'utf8')).toContain(fixture.issued[0]!);

    const { toolset, seen } = await toolsetOn(config, oauthDir);
    try {
      expect(await ping(toolset)).toBe('pong');
    } finally {
      await toolset.close();
    }
    for (const token of fixture.issued) expect(seen()).not.toContain(token);
  });

  it('refreshes an expired token once, mid-session, and retries the call', async () => {
    const { fixture, oauthDir, config } = await setUp();
    await loginMcpServer({ server: 'secure', config, oauthDir, onAuthorizationUrl: (u) => void followInBrowser(u) });
    const { toolset, seen } = await toolsetOn(config, oauthDir);
    try {
      expect(await ping(toolset)).toBe('pong');
      fixture.expireAccessTokens();
      expect(await toolset.tools()[0]!.run({}, testContext())).toBe('pong');
      expect(fixture.tokenGrants).toEqual(['authorization_code', 'refresh_token']);
      expect(fixture.registrations).toHaveLength(1);
    } finally {
      await toolset.close();
    }
    for (const token of fixture.issued) expect(seen()).not.toContain(token);
  });

  it('fails a run with mcp_auth_required naming the command when the login is revoked, registering nothing', async () => {
    const { fixture, oauthDir, config } = await setUp();
    await loginMcpServer({ server: 'secure', config, oauthDir, onAuthorizationUrl: (u) => void followInBrowser(u) });
    fixture.revokeAll();
    const { toolset, seen, failures } = await toolsetOn(config, oauthDir);
    try {
      expect(failures()).toEqual([expect.objectContaining({ code: 'mcp_auth_required' })]);
      expect(failures()[0]!.message).toContain('cadre mcp login secure');
      expect(toolset.tools()).toEqual([]);
      expect(fixture.tokenGrants).toEqual(['authorization_code', 'refresh_token']);
      expect(fixture.registrations).toHaveLength(1);
      expect(fixture.authorizeRequests).toHaveLength(1);
    } finally {
      await toolset.close();
    }
    for (const token of fixture.issued) expect(seen()).not.toContain(token);
  });

  it('fails with mcp_auth_required, without registering, when nobody logged in', async () => {
    const { fixture, oauthDir, config } = await setUp();
    const { toolset, failures } = await toolsetOn(config, oauthDir);
    try {
      expect(failures()).toEqual([expect.objectContaining({ code: 'mcp_auth_required' })]);
      expect(toolset.status()[0]).toMatchObject({ state: 'failed' });
      expect(fixture.registrations).toHaveLength(0);
      expect(fixture.tokenGrants).toEqual([]);
    } finally {
      await toolset.close();
    }
  });

  it('refuses a callback whose state this login did not send, and saves nothing', async () => {
    const { fixture, oauthDir, config } = await setUp();
    const error = await failureOf(
      loginMcpServer({
        server: 'secure',
        config,
        oauthDir,
        // Someone else's redirect (or a forged one) reaches the listener first.
        onAuthorizationUrl: (url) => {
          const callback = new URL(url.searchParams.get('redirect_uri')!);
          callback.searchParams.set('code', 'stolen-code');
          callback.searchParams.set('state', 'forged-state');
          void fetch(callback).then((r) => r.text());
        },
      }),
    );
    expect(CadreError.isInstance(error) && error.code).toBe('auth_failed');
    expect(fixture.tokenGrants).toEqual([]);
    const saved = readdirSync(oauthDir).map((f) => readFileSync(join(oauthDir, f), 'utf8'));
    expect(saved.join('')).not.toContain('"tokens"');
  });

  it('refuses a server whose resource metadata names another resource (token audience mismatch)', async () => {
    const { fixture, oauthDir, config } = await setUp({
      advertisedResource: (url) => url.replace('/mcp', '/other-service'),
    });
    const error = await failureOf(
      loginMcpServer({ server: 'secure', config, oauthDir, onAuthorizationUrl: (u) => void followInBrowser(u) }),
    );
    expect(CadreError.isInstance(error) && error.code).toBe('auth_failed');
    expect((error as Error).message).toMatch(/does not match/);
    expect(fixture.authorizeRequests).toHaveLength(0);
    expect(fixture.tokenGrants).toEqual([]);
  });

  it('saves nothing for a server that lets cadre in without a login, and refuses a server with oauth: false', async () => {
    const open = await startRecordingServer();
    const oauthDir = join(mkdtempSync(join(tmpdir(), 'cadre-oauth-')), 'mcp-auth');
    try {
      const result = await loginMcpServer({
        server: 'open',
        config: { url: open.url },
        oauthDir,
        onAuthorizationUrl: () => undefined,
      });
      expect(result).toEqual({ status: 'not_required' });
      expect(existsSync(oauthDir)).toBe(false);
      await expect(
        loginMcpServer({
          server: 'open',
          config: { url: open.url, oauth: false },
          oauthDir,
          onAuthorizationUrl: () => undefined,
        }),
      ).rejects.toMatchObject({ code: 'config_invalid' });
    } finally {
      await open.close();
    }
  });

  it('`cadre mcp login <server>` prints the URL, waits for the browser, and saves the login; logout forgets it', async () => {
    const { fixture } = await setUp();
    const dir = mkdtempSync(join(tmpdir(), 'cadre-oauth-cli-'));
    const configPath = join(dir, 'cadre.config.json');
    writeFileSync(configPath, JSON.stringify({ mcpServers: { secure: { url: fixture.mcp.url } } }));
    const env = { PATH: process.env.PATH ?? '', HOME: dir, NO_COLOR: '1', CADRE_CONFIG: configPath };
    const cli = (args: string[]) =>
      spawn(
        process.execPath,
        ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args, '--data', join(dir, 'data')],
        {
          cwd: root,
          env,
        },
      );
    const login = cli(['mcp', 'login', 'secure']);
    let stderr = '';
    let stdout = '';
    login.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    await new Promise<void>((resolve) =>
      login.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        const url = /https?:\/\/\S+\/authorize\S*/.exec(stderr)?.[0];
        if (url) void followInBrowser(new URL(url)).then(resolve);
      }),
    );
    const code = await new Promise<number | null>((resolve) => login.once('exit', resolve));
    expect(code).toBe(0);
    expect(stdout).toContain('Logged in to secure');
    expect(readdirSync(join(dir, 'data', 'mcp-auth'))).toHaveLength(1);
    // The tokens are in the file, never in what the command printed.
    for (const token of fixture.issued) expect(stdout + stderr).not.toContain(token);

    const logout = cli(['mcp', 'logout', 'secure']);
    let out = '';
    logout.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    expect(await new Promise((resolve) => logout.once('exit', resolve))).toBe(0);
    expect(out).toContain('Logged out of secure');
    expect(readdirSync(join(dir, 'data', 'mcp-auth'))).toHaveLength(0);
  }, 60_000);
});
