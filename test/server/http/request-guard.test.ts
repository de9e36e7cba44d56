import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serveHttpApi, type HttpApiServing } from '../../../src/server/http/index.js';
import { open, testApi, testApp } from './http-fixtures.js';

type Setup = ReturnType<typeof testApi> & { made: () => number; key: string };
let t: Setup;

const goal = JSON.stringify({ team: 'chain', goal: 'a chain of tasks' });
const post = (headers: Record<string, string>, body: string = goal, path = '/runs') =>
  t.api.app.request(path, { method: 'POST', headers, body });

/** The answer is the status, with a JSON error of the code, and nothing ran or was stored. */
async function expectRefused(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(t.made()).toBe(0);
  expect(t.store.runs.list()).toEqual([]);
}

beforeEach(async () => {
  const { app, made } = testApp();
  const setup = testApi({ app, server: { corsOrigins: ['https://app.example'], maxBodyBytes: 2048 } });
  t = { ...setup, made, key: (await setup.api.keys.create({ name: 'test' })).key };
});

describe('the HTTP API turns bad requests away before anything runs', () => {
  it('starts and stores a run when every part of the request is right (the control for the cases below)', async () => {
    const response = await post(t.headers(t.key));
    expect(response.status).toBe(202);
    const body = (await response.json()) as { id: string; status: string; team: string };
    expect(body).toMatchObject({ status: 'running', team: 'chain' });
    // Admission is durable: the record is committed when the answer arrives.
    expect(t.store.runs.get(body.id)?.goal).toBe('a chain of tasks');
    expect(response.headers.get('location')).toBe(`/runs/${body.id}`);
    expect(t.made()).toBe(1);
    await t.api.runs.handle(body.id)?.result;
  });

  it('refuses a request without a key with 401 and WWW-Authenticate', async () => {
    const response = await post(t.headers());
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    await expectRefused(response, 401, 'auth_failed');
  });

  it('refuses a wrong key: another secret for a real key id, a made-up key, a malformed header', async () => {
    const [, id] = /^cadre_([a-z0-9]{12})_/.exec(t.key)!;
    const forged = `cadre_${id}_${'A'.repeat(43)}`;
    for (const authorization of [`Bearer ${forged}`, 'Bearer cadre_000000000000_nope', `Basic ${t.key}`, t.key])
      await expectRefused(await post({ ...t.headers(), Authorization: authorization }), 401, 'auth_failed');
  });

  it('refuses a revoked key at once', async () => {
    const other = await t.api.keys.create({ name: 'soon revoked' });
    expect(await t.api.keys.revoke(other.id)).toBe(true);
    await expectRefused(await post(t.headers(other.key)), 401, 'auth_failed');
    expect(await t.api.keys.revoke(other.id)).toBe(false);
  });

  it('refuses a key in the query string, even next to a valid header', async () => {
    for (const name of ['key', 'api_key', 'access_token', 'token']) {
      await expectRefused(await post(t.headers(t.key), goal, `/runs?${name}=${t.key}`), 400, 'input_invalid');
      await expectRefused(await post(t.headers(), goal, `/runs?${name}=${t.key}`), 400, 'input_invalid');
    }
  });

  it('refuses a forged Host with 403 (DNS rebinding), whatever the key', async () => {
    for (const host of ['evil.example:7700', 'evil.example', 'localhost:1', '127.0.0.1:7701'])
      await expectRefused(await post({ ...t.headers(t.key), Host: host }), 403, 'request_forbidden');
  });

  it('refuses a foreign Origin with 403 and lets an allowlisted one through with CORS headers', async () => {
    await expectRefused(await post({ ...t.headers(t.key), Origin: 'https://evil.example' }), 403, 'request_forbidden');
    const preflight = await t.api.app.request('/runs', {
      method: 'OPTIONS',
      headers: {
        Host: t.headers().Host!,
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
  });

  it('refuses an oversized body with 413', async () => {
    const big = JSON.stringify({ team: 'chain', goal: 'x'.repeat(4096) });
    await expectRefused(await post(t.headers(t.key), big), 413, 'body_too_large');
  });

  it('refuses malformed JSON, a body that is not JSON, and fields the schema does not know with 400', async () => {
    await expectRefused(await post(t.headers(t.key), '{"team": "chain", goal'), 400, 'input_invalid');
    await expectRefused(await post({ ...t.headers(t.key), 'Content-Type': 'text/plain' }, goal), 400, 'input_invalid');
    await expectRefused(
      await post(t.headers(t.key), JSON.stringify({ team: 'chain', goal: 'g', admin: true })),
      400,
      'input_invalid',
    );
    await expectRefused(
      await post(t.headers(t.key), JSON.stringify({ team: 'chain', agent: 'echo', goal: 'g' })),
      400,
      'input_invalid',
    );
    await expectRefused(
      await post(t.headers(t.key), JSON.stringify({ team: 'chain', goal: '   ' })),
      400,
      'input_invalid',
    );
    await expectRefused(
      await post(t.headers(t.key), JSON.stringify({ team: 'chain', goal: 'g', budget: { maxSteps: 0 } })),
      400,
      'input_invalid',
    );
  });

  it('refuses an unknown team or agent with 404 team_not_found', async () => {
    await expectRefused(
      await post(t.headers(t.key), JSON.stringify({ team: 'ghost', goal: 'g' })),
      404,
      'team_not_found',
    );
    await expectRefused(
      await post(t.headers(t.key), JSON.stringify({ agent: 'chain', goal: 'g' })),
      404,
      'team_not_found',
    );
  });

  it('refuses a malformed end-user id with 400', async () => {
    await expectRefused(await post(t.headers(t.key, { 'X-Cadre-User': 'bob smith/../' })), 400, 'input_invalid');
  });

  it('answers an unknown route with a JSON 404', async () => {
    const response = await t.api.app.request('/nope', { headers: t.headers(t.key) });
    await expectRefused(response, 404, 'not_found');
  });

  it('limits each key to its requests a minute with 429 and Retry-After', async () => {
    const { app, made } = testApp();
    const setup = testApi({ app, server: { rateLimitPerMinute: 3 } });
    t = { ...setup, made, key: (await setup.api.keys.create()).key };
    const other = (await setup.api.keys.create()).key;
    for (let i = 0; i < 3; i++)
      expect((await t.api.app.request('/runs', { headers: t.headers(t.key) })).status).toBe(200);
    const limited = await t.api.app.request('/runs', { headers: t.headers(t.key) });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    await expectRefused(limited, 429, 'rate_limited');
    // The limit is per key: another key is not slowed by this one.
    expect((await t.api.app.request('/runs', { headers: t.headers(other) })).status).toBe(200);
  });
});

describe('the HTTP API on a real socket', () => {
  let serving: HttpApiServing | undefined;
  afterEach(async () => serving?.close());

  it('binds 127.0.0.1 by default and cuts a chunked body off once it passes the cap', async () => {
    const { app, made } = testApp();
    const setup = testApi({ app, server: { port: 0, maxBodyBytes: 2048 } });
    const key = (await setup.api.keys.create()).key;
    serving = await serveHttpApi(setup.api);
    expect(serving.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // No Content-Length: the body arrives in chunks and is counted as it comes.
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${serving!.url}/runs`, {
        method: 'POST',
        headers: {
          Host: new URL(serving!.url).host,
          Authorization: `Bearer ${key}`,
          'Content-Type': 'application/json',
          'Transfer-Encoding': 'chunked',
        },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write('{"team":"chain","goal":"');
      for (let i = 0; i < 8; i++) req.write('x'.repeat(1024));
      req.end('"}');
    });
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'body_too_large' } });
    expect(made()).toBe(0);
    expect(setup.store.runs.list()).toEqual([]);
  });

  it('checks Host against the port it actually bound', async () => {
    serving = await serveHttpApi(testApi({ server: { port: 0 } }).api);
    const port = new URL(serving.url).port;
    const ok = await open(`${serving.url}/health`, { headers: { Host: `localhost:${port}` } });
    expect(ok.statusCode).toBe(200);
    ok.resume();
    const wrong = await open(`${serving.url}/health`, { headers: { Host: 'localhost:7700' } });
    expect(wrong.statusCode).toBe(403);
    wrong.resume();
  });
});
