// cadre's browser login only ever completes through the loopback redirect URI it registered.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CadreError } from 'cadre';
import { loginMcpServer } from 'cadre/tools';
import { failureOf, startOAuthFixture, type OAuthFixtureOptions } from './oauth-server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

async function setUp(options: OAuthFixtureOptions = {}) {
  const fixture = await startOAuthFixture(options);
  cleanups.push(() => fixture.close());
  const oauthDir = join(mkdtempSync(join(tmpdir(), 'cadre-oauth-redirect-')), 'mcp-auth');
  return { fixture, oauthDir, config: { url: fixture.mcp.url } };
}

/** Someone else's listener on loopback: records every URL it is sent to. */
async function otherListener() {
  const received: URL[] = [];
  const server: Server = createServer((req, res) => {
    received.push(new URL(req.url ?? '/', 'http://127.0.0.1'));
    res.writeHead(200).end('thanks');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { port, url: `http://127.0.0.1:${port}/callback`, received };
}

/** Where a browser following `url` was redirected, and what came of going there (a status, or the error code). */
async function browse(url: URL): Promise<{ location: string; outcome: number | string }> {
  const response = await fetch(url, { redirect: 'manual' });
  const location = response.headers.get('location');
  if (!location) throw new Error(`authorization did not redirect: ${response.status} ${await response.text()}`);
  return { location, outcome: await visit(location) };
}

/** GETs `url` and answers its status, or the network error's code when nothing answers. */
async function visit(url: string | URL): Promise<number | string> {
  try {
    const response = await fetch(url);
    await response.text();
    return response.status;
  } catch (error) {
    return ((error as Error).cause as { code?: string } | undefined)?.code ?? String(error);
  }
}

/** Everything saved for the login, as one string ('' when nothing was). */
const saved = (oauthDir: string) =>
  existsSync(oauthDir)
    ? readdirSync(oauthDir)
        .map((file) => readFileSync(join(oauthDir, file), 'utf8'))
        .join('')
    : '';

const codeOf = (error: unknown) => (CadreError.isInstance(error) ? error.code : String(error));

describe('the OAuth login and its loopback redirect URI', () => {
  it.each([
    {
      where: 'a listener someone else runs on another loopback port',
      target: (_requested: URL, other: string) => other,
      outcome: 200,
    },
    {
      where: "another path on cadre's own listener",
      target: (requested: URL) => `${requested.origin}/elsewhere`,
      outcome: 404,
    },
    {
      where: 'another loopback host, on the same port',
      target: (requested: URL) => `http://127.0.0.2:${requested.port}/callback`,
      outcome: 'ECONNREFUSED',
    },
  ])(
    'never completes when the authorization server sends the browser to $where instead',
    async ({ target, outcome }) => {
      const other = await otherListener();
      let requested: URL | undefined;
      const { fixture, oauthDir, config } = await setUp({
        redirectBrowserTo: (uri) => target((requested = new URL(uri)), other.url),
      });
      let browsing: ReturnType<typeof browse> | undefined;
      const error = await failureOf(
        loginMcpServer({
          server: 'secure',
          config,
          oauthDir,
          timeoutMs: 1_500,
          onAuthorizationUrl: (url) => void (browsing = browse(url)),
        }),
      );
      expect(codeOf(error)).toBe('timeout');
      // The code was asked for with cadre's registered loopback URI, and the browser taken elsewhere.
      expect(requested?.href).toBe(fixture.registrations[0]!.redirect_uris[0]);
      const visited = await browsing!;
      const sentTo = new URL(visited.location);
      expect(`${sentTo.origin}${sentTo.pathname}`).toBe(target(requested!, other.url));
      expect(sentTo.searchParams.get('code')).toMatch(/^code_/);
      expect(sentTo.searchParams.get('state')).toBe(fixture.authorizeRequests[0]!.get('state'));
      expect(visited.outcome).toBe(outcome);
      // No code reached cadre: none was exchanged, and no tokens were saved.
      expect(fixture.tokenGrants).toEqual([]);
      expect(saved(oauthDir)).not.toContain('"tokens"');
    },
    20_000,
  );

  it('refuses a code issued for another redirect URI, even when it comes back to its listener with its state', async () => {
    // A server that issues codes for any redirect_uri: someone who saw the authorization link
    // (client id, PKCE challenge, state) gets a code sent to their own listener, and replays it.
    const { fixture, oauthDir, config } = await setUp({ anyRedirectUri: true });
    const other = await otherListener();
    let own = '';
    let replayed: Promise<number | string> | undefined;
    const error = await failureOf(
      loginMcpServer({
        server: 'secure',
        config,
        oauthDir,
        timeoutMs: 10_000,
        onAuthorizationUrl: (url) => {
          own = url.searchParams.get('redirect_uri')!;
          const altered = new URL(url);
          altered.searchParams.set('redirect_uri', other.url);
          replayed = browse(altered).then(({ location }) => {
            const back = new URL(own);
            back.search = new URL(location).search;
            return visit(back);
          });
        },
      }),
    );
    expect(await replayed).toBe(200);
    const stolen = other.received[0]!;
    expect(stolen.searchParams.get('state')).toBe(fixture.authorizeRequests[0]!.get('state'));
    expect(codeOf(error)).toBe('auth_failed');
    // cadre exchanged the code (the SDK tries twice) with the redirect URI it registered: refused.
    expect(own).toBe(fixture.registrations[0]!.redirect_uris[0]);
    expect(fixture.tokenGrants.length).toBeGreaterThan(0);
    expect(new Set(fixture.tokenGrants)).toEqual(new Set(['authorization_code']));
    for (const form of fixture.tokenForms) {
      expect(form.get('code')).toBe(stolen.searchParams.get('code'));
      expect(form.get('redirect_uri')).toBe(own);
    }
    expect(fixture.issued).toEqual([]);
    expect(saved(oauthDir)).not.toContain('"tokens"');
  });

  it('refuses a callback that carries a code but no state, and exchanges nothing', async () => {
    const { fixture, oauthDir, config } = await setUp();
    let answered: Promise<number | string> | undefined;
    const error = await failureOf(
      loginMcpServer({
        server: 'secure',
        config,
        oauthDir,
        onAuthorizationUrl: (url) => {
          answered = visit(`${url.searchParams.get('redirect_uri')!}?code=code_injected`);
        },
      }),
    );
    expect(codeOf(error)).toBe('auth_failed');
    expect((error as Error).message).toMatch(/state this login did not send/);
    // Its page does not say it logged in.
    expect(await answered).toBe(400);
    expect(fixture.tokenGrants).toEqual([]);
    expect(saved(oauthDir)).not.toContain('"tokens"');
  });

  it('exchanges only the first callback: a second one, during the login or after it, changes nothing', async () => {
    const { fixture, oauthDir, config } = await setUp();
    let genuine = '';
    let late: Promise<number | string> | undefined;
    const result = await loginMcpServer({
      server: 'secure',
      config,
      oauthDir,
      onAuthorizationUrl: (url) => {
        late = browse(url).then(({ location }) => {
          genuine = location;
          // Right behind the browser: the same state with another code.
          const forged = new URL(location);
          forged.searchParams.set('code', 'code_forged');
          return visit(forged);
        });
      },
    });
    expect(result).toEqual({ status: 'authorized' });
    await late;
    const after = saved(oauthDir);
    expect(after).toContain(fixture.issued[0]!);
    expect(fixture.tokenGrants).toEqual(['authorization_code']);
    expect(fixture.tokenForms[0]!.get('code')).toBe(new URL(genuine).searchParams.get('code'));
    // Once the login is over nothing listens there any more: a replay reaches nobody.
    expect(await visit(genuine)).toBe('ECONNREFUSED');
    const forged = new URL(genuine);
    forged.searchParams.set('code', 'code_forged');
    expect(await visit(forged)).toBe('ECONNREFUSED');
    expect(fixture.tokenGrants).toEqual(['authorization_code']);
    expect(saved(oauthDir)).toBe(after);
  });

  it('does not start when its configured redirect port is already taken, so no code can go to that listener', async () => {
    const { fixture, oauthDir, config } = await setUp();
    const other = await otherListener();
    let shown: URL | undefined;
    const error = await failureOf(
      loginMcpServer({
        server: 'secure',
        config: { ...config, oauth: { redirectPort: other.port } },
        oauthDir,
        onAuthorizationUrl: (url) => (shown = url),
      }),
    );
    expect(error).toMatchObject({
      code: 'config_invalid',
      message: expect.stringContaining(`Port ${other.port} on 127.0.0.1`),
    });
    expect(shown).toBeUndefined();
    expect(fixture.registrations).toEqual([]);
    expect(fixture.authorizeRequests).toEqual([]);
    expect(other.received).toEqual([]);
  });

  it('checks the issuer an authorization response names (RFC 9207) when its server says it sends one', async () => {
    const login = async (issParameter: OAuthFixtureOptions['issParameter']) => {
      const { fixture, oauthDir, config } = await setUp({ issParameter });
      const outcome = await loginMcpServer({
        server: 'secure',
        config,
        oauthDir,
        onAuthorizationUrl: (url) => void browse(url),
      }).catch((error: unknown) => error);
      return { outcome, fixture, oauthDir };
    };
    // Its own issuer: the login completes.
    const own = await login('own');
    expect(own.outcome).toEqual({ status: 'authorized' });
    expect(own.fixture.tokenGrants).toEqual(['authorization_code']);
    // Another server's issuer (a mix-up), or none where one was promised: refused, no code exchanged.
    for (const [kind, message] of [
      ['other', /came back from http:\/\/127\.0\.0\.1:9\/elsewhere, not from the authorization server/],
      ['missing', /without the issuer its authorization server/],
    ] as const) {
      const { outcome, fixture, oauthDir } = await login(kind);
      expect(codeOf(outcome), kind).toBe('auth_failed');
      expect((outcome as Error).message).toMatch(message);
      expect(fixture.tokenGrants, kind).toEqual([]);
      expect(saved(oauthDir)).not.toContain('"tokens"');
    }
  });
});
