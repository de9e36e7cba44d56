import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCadreMcpServer, serveHttp, type HttpServing } from '../../src/server/mcp/index.js';
import { countCall, countingTool, rawRequest } from './mcp-fixtures.js';

const token = 'correct-horse-battery-staple';
const maxBodyBytes = 4096;
let serving: HttpServing;
let client: Client;
let calls: () => number;
let headers: Record<string, string>;

// Each case replays a tools/call on a live, initialised session with one thing wrong, so only the
// guard under test can be what stops the counting tool from running.
beforeEach(async () => {
  const counter = countingTool();
  calls = counter.calls;
  serving = await serveHttp(() => createCadreMcpServer({ tools: [counter.tool] }), {
    bearerToken: token,
    maxBodyBytes,
    allowedOrigins: ['https://app.example'],
  });
  const transport = new StreamableHTTPClientTransport(new URL(serving.url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  client = new Client({ name: 'guard-test', version: '1.0.0' });
  await client.connect(transport);
  headers = {
    Host: new URL(serving.url).host,
    Authorization: `Bearer ${token}`,
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'Mcp-Session-Id': transport.sessionId!,
    'Mcp-Protocol-Version': transport.protocolVersion ?? '2025-06-18',
  };
});

afterEach(async () => {
  await client.close();
  await serving.close();
});

describe('serveHttp request guard', () => {
  it('runs the call when every header is right (the control for the cases below)', async () => {
    const response = await rawRequest(serving.url, { headers, body: countCall() });
    expect(response.status).toBe(200);
    expect(calls()).toBe(1);
  });

  it('accepts an allowed Origin and the localhost spelling of the Host', async () => {
    const port = new URL(serving.url).port;
    await rawRequest(serving.url, {
      headers: { ...headers, Host: `localhost:${port}`, Origin: 'https://app.example' },
      body: countCall(),
    });
    expect(calls()).toBe(1);
  });

  it('refuses a foreign Origin with 403', async () => {
    const response = await rawRequest(serving.url, {
      headers: { ...headers, Origin: 'https://evil.example' },
      body: countCall(),
    });
    expect(response.status).toBe(403);
    expect(calls()).toBe(0);
  });

  it('refuses a Host that is not this loopback server with 403 (DNS rebinding)', async () => {
    const port = new URL(serving.url).port;
    for (const host of [`evil.example:${port}`, 'localhost:1', 'evil.example']) {
      const response = await rawRequest(serving.url, { headers: { ...headers, Host: host }, body: countCall() });
      expect(response.status, host).toBe(403);
    }
    expect(calls()).toBe(0);
  });

  it('refuses a missing or wrong bearer token with 401 and WWW-Authenticate', async () => {
    const { Authorization: _, ...withoutToken } = headers;
    for (const attempt of [
      withoutToken,
      { ...headers, Authorization: 'Bearer wrong' },
      { ...headers, Authorization: token },
    ]) {
      const response = await rawRequest(serving.url, { headers: attempt, body: countCall() });
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
    }
    expect(calls()).toBe(0);
  });

  it('refuses an oversized body with 413, whether declared or streamed in chunks', async () => {
    const big = countCall(maxBodyBytes + 1);
    const declared = await rawRequest(serving.url, {
      headers: { ...headers, 'Content-Length': String(Buffer.byteLength(big)) },
      body: big,
    });
    expect(declared.status).toBe(413);
    const chunks = [big.slice(0, 3000), big.slice(3000)];
    const streamed = await rawRequest(serving.url, {
      headers: { ...headers, 'Transfer-Encoding': 'chunked' },
      body: chunks,
    });
    expect(streamed.status).toBe(413);
    expect(calls()).toBe(0);
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === 'IPv4')?.address;
  it.skipIf(!external)('binds loopback only by default: another interface of this machine is refused', async () => {
    const port = Number(new URL(serving.url).port);
    const error = await new Promise<Error | undefined>((resolve) => {
      const socket = connect({ host: external!, port }, () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.on('error', resolve);
    });
    expect(error?.message).toMatch(/ECONNREFUSED/);
  });
});
