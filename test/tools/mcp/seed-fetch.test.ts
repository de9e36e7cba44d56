import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolPolicy } from 'cadre/tools';
import { runWithServers, seedEntries, servePages } from './seed-servers.js';

// A fetch server from npm (no address checks of its own), kept to loopback by cadre's policy: an
// argument rule lets its tools fetch only URLs whose host is a loopback address.
const toolPolicy = { arguments: { 'fetch__*': { url: { hosts: ['127.0.0.0/8', '::1'] } } } };

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
      toolPolicy,
    });
    expect(result.status).toBe('completed');
    expect(calls.map((c) => c.ok)).toEqual([false, true]);
    expect(calls[0]!.error).toMatchObject({
      code: 'tool_denied',
      message: expect.stringContaining('names a host policy does not allow'),
    });
    expect(result.answer).toMatch(/Soup of the day: lentil/);
    expect(audit('fetch__fetch_txt').map((r) => r.decision)).toEqual(['denied', 'allowed']);
    expect(site.requests).toEqual(['/menu']);
  });

  it('the rule takes loopback addresses only, as the URL parser reads the host, and resolves no names', () => {
    const policy = new ToolPolicy(toolPolicy);
    // The URL parser normalises the address first: 0x7f.1 is 127.0.0.1.
    for (const url of ['http://127.0.0.1:8080/a', 'http://[::1]/a', 'http://0x7f.1/']) {
      expect([url, policy.refuseArguments('fetch__fetch_txt', { url })]).toEqual([url, undefined]);
    }
    const refused = [
      'http://localhost/',
      'http://127.0.0.1.example/',
      'http://127.0.0.1@192.0.2.10/',
      'http://[::ffff:192.0.2.10]/',
      'file:///etc/passwd',
      'not a url',
    ];
    for (const url of refused) {
      expect([url, policy.refuseArguments('fetch__fetch_txt', { url })]).toEqual([url, expect.any(String)]);
    }
  });
});
