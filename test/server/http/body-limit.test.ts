import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { serveHttpApi } from '../../../src/server/http/index.js';
import { testApi } from './http-fixtures.js';

const t = testApi({ server: { port: 0, workers: 0, maxBodyBytes: 2048 } });
const key = (await t.api.keys.create({ name: 'k' })).key;
const serving = await serveHttpApi(t.api);
afterAll(() => serving.close());

/** A POST whose body is sent in chunks (Transfer-Encoding: chunked, no Content-Length). */
function chunkedPost(path: string, parts: string[]): Promise<{ status: number; body: string }> {
  const url = new URL(serving.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    for (const part of parts.slice(0, -1)) req.write(part);
    req.end(parts.at(-1));
  });
}

describe('request bodies without a Content-Length', () => {
  it('reads a chunked JSON body (it used to answer 500)', async () => {
    const res = await chunkedPost('/runs', ['{"agent":"echo",', '"goal":"chunked"}']);
    expect(res.status).toBe(202);
    expect(JSON.parse(res.body)).toMatchObject({ goal: 'chunked', status: 'running' });
  });

  it('refuses a chunked body over the limit with 413', async () => {
    const res = await chunkedPost('/runs', ['{"agent":"echo","goal":"', 'x'.repeat(3000), '"}']);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'body_too_large' } });
  });

  it('answers a DELETE that declares a JSON body type but sends none', async () => {
    const res = await fetch(`${serving.url}/schedules/sched_none`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(403); // not an admin key: the request got past the body check to the route
  });
});
