import { BlockList, isIP } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalHandler } from 'cadre/tools';
import { runWithServers, seedEntries, servePages } from './seed-servers.js';

// A fetch server from npm (no address checks of its own), kept to loopback by cadre's policy: every
// call of its tools asks the approver, which allows literal loopback addresses only.
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

const isLoopbackUrl = (value: unknown): boolean => {
  try {
    const url = new URL(String(value));
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const family = isIP(host);
    return /^https?:$/.test(url.protocol) && family !== 0 && loopback.check(host, family === 4 ? 'ipv4' : 'ipv6');
  } catch {
    return false;
  }
};
const requests: Parameters<ApprovalHandler>[0][] = [];
const loopbackOnly: ApprovalHandler = (request) => {
  requests.push(request);
  return Promise.resolve(
    isLoopbackUrl(request.args.url)
      ? { approved: true }
      : { approved: false, reason: 'only loopback URLs may be fetched' },
  );
};

let site: Awaited<ReturnType<typeof servePages>>;
beforeAll(async () => {
  site = await servePages({ '/menu': '<html><body><h1>Menu</h1><p>Soup of the day: lentil</p></body></html>' });
});
afterAll(() => site.close());

describe('a fetch MCP server in a run', { timeout: 60_000 }, () => {
  it('fetches a loopback page, and a non-loopback URL is refused by policy before the server is called', async () => {
    // TEST-NET-1 (RFC 5737): never routed; refused before any request is made.
    const outside = 'http://192.0.2.10/menu';
    const { result, calls, audit } = await runWithServers({
      goal: 'What is the soup of the day?',
      respond: ({ call, toolResults }) =>
        call === 0
          ? { toolCalls: [{ name: 'fetch__fetch_txt', args: { url: outside } }] }
          : call === 1
            ? { toolCalls: [{ name: 'fetch__fetch_txt', args: { url: `${site.origin}/menu` } }] }
            : `menu says: ${toolResults[0]!.content}`,
      mcpServers: {
        fetch: {
          command: process.execPath,
          args: [seedEntries.fetch],
          effects: { fetch_txt: 'read', fetch_html: 'read', fetch_markdown: 'read', fetch_json: 'read' },
        },
      },
      toolPolicy: { approval: { tools: { 'fetch__*': 'ask' } } },
      approveTool: loopbackOnly,
    });
    expect(result.status).toBe('completed');
    expect(calls.map((c) => c.ok)).toEqual([false, true]);
    expect(calls[0]!.error).toMatchObject({
      code: 'approval_denied',
      message: expect.stringContaining('only loopback'),
    });
    expect(result.answer).toMatch(/Soup of the day: lentil/);
    expect(requests.map((r) => [r.tool, r.args.url])).toEqual([
      ['fetch__fetch_txt', outside],
      ['fetch__fetch_txt', `${site.origin}/menu`],
    ]);
    expect(audit('fetch__fetch_txt').map((r) => r.decision)).toEqual(['approval_denied', 'allowed']);
    expect(site.requests).toEqual(['/menu']);
  });

  it("the approver's check takes literal loopback addresses only, resolving no names", () => {
    // The URL parser normalises the address first: 0x7f.1 is 127.0.0.1.
    for (const url of ['http://127.0.0.1:8080/a', 'http://[::1]/a', 'http://0x7f.1/']) {
      expect([url, isLoopbackUrl(url)]).toEqual([url, true]);
    }
    const refused = [
      'http://localhost/',
      'http://127.0.0.1.example/',
      'http://[::ffff:192.0.2.10]/',
      'file:///etc/passwd',
    ];
    for (const url of [...refused, 'not a url']) {
      expect([url, isLoopbackUrl(url)]).toEqual([url, false]);
    }
  });
});
