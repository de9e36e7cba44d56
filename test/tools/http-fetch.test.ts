import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpFetchTool } from 'cadre/tools';

let server: Server;
let port: number;
const hits: string[] = [];
const ctx = { signal: new AbortController().signal, runId: 'r', taskId: 't', callId: 'c' };

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/away') {
      res.writeHead(302, { location: 'http://evil.example:80/steal' }).end();
    } else if (req.url === '/hop') {
      res.writeHead(302, { location: '/page' }).end();
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('page body');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('http_fetch', () => {
  const tool = () => createHttpFetchTool({ allowedHosts: ['127.0.0.1'] });

  it('fetches from an allowed host and follows a redirect that stays allowed', async () => {
    expect(await tool().run({ url: `http://127.0.0.1:${port}/hop` }, ctx)).toBe('HTTP 200 text/plain\n\npage body');
  });

  it('refuses a host that is not allowed without sending anything', async () => {
    const before = hits.length;
    await expect(Promise.resolve(tool().run({ url: `http://localhost:${port}/page` }, ctx))).rejects.toMatchObject({
      code: 'host_not_allowed',
    });
    expect(hits.length).toBe(before);
  });

  it('refuses a redirect to a host that is not allowed', async () => {
    await expect(Promise.resolve(tool().run({ url: `http://127.0.0.1:${port}/away` }, ctx))).rejects.toMatchObject({
      code: 'host_not_allowed',
    });
  });

  it('refuses other schemes', async () => {
    await expect(Promise.resolve(tool().run({ url: 'file:///etc/passwd' }, ctx))).rejects.toMatchObject({
      code: 'input_invalid',
    });
  });
});
