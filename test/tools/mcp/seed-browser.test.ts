import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { McpServerConfig } from 'cadre/tools';
import { requireHere } from './required-here.js';
import { runWithServers, seedEntries, servePages } from './seed-servers.js';

// Playwright's MCP server driving Debian's chromium, headless: Playwright never downloads a browser.
const chromium = [process.env.CADRE_CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (path): path is string => !!path && existsSync(path),
);
// Skipped, saying why, where it is missing; under CI=true that fails instead.
const missing = chromium
  ? undefined
  : 'chromium is not installed (apt-get install chromium, or set CADRE_CHROMIUM_PATH to its executable)';

const browserServer = (executable: string): McpServerConfig => {
  const cwd = mkdtempSync(join(tmpdir(), 'cadre-seed-browser-'));
  return {
    command: process.execPath,
    args: [
      seedEntries.playwright,
      ...['--headless', '--no-sandbox', '--isolated', '--executable-path', executable, '--output-dir', cwd],
      // Everything but loopback goes to a proxy that is not there: the browser reaches nothing else.
      ...['--proxy-server', 'http://127.0.0.1:9', '--proxy-bypass', '127.0.0.1'],
    ],
    cwd,
    env: { PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1', PLAYWRIGHT_BROWSERS_PATH: '0' },
    effects: { browser_navigate: 'read', browser_snapshot: 'read' },
    timeoutMs: 60_000,
  };
};

let site: Awaited<ReturnType<typeof servePages>>;
beforeAll(async () => {
  site = await servePages({
    '/hours':
      '<html><head><title>Bakery</title></head><body><h1>Opening hours</h1><p>Open 7 to 13, closed on Mondays</p></body></html>',
  });
});
afterAll(() => site.close());

describe('Playwright MCP in a run', { timeout: 120_000 }, () => {
  it('navigates to a loopback page and reads its text, offered only the two tools policy allows', async (context) => {
    requireHere(context, missing);
    const navigate = (url: string) => ({ toolCalls: [{ name: 'browser__browser_navigate', args: { url } }] });
    let text = '';
    const { result, calls, offered } = await runWithServers({
      goal: 'When is the bakery open?',
      respond: ({ call, toolResults }) => {
        if (call === 0) return navigate(`${site.origin}/hours`);
        if (call === 1) return { toolCalls: [{ name: 'browser__browser_snapshot', args: {} }] };
        text = /paragraph[^:]*: (.*)/.exec(toolResults[0]!.content)?.[1] ?? text;
        return call === 2 ? navigate('http://192.0.2.10/') : `The page says: ${text}`;
      },
      mcpServers: { browser: browserServer(chromium!) },
      toolPolicy: { allow: ['browser__browser_navigate', 'browser__browser_snapshot'] },
    });
    expect([...offered].sort()).toEqual(['browser__browser_navigate', 'browser__browser_snapshot']);
    expect(result.status).toBe('completed');
    expect(
      calls.map((c) => c.ok),
      JSON.stringify(calls.map((c) => c.error)),
    ).toEqual([true, true, false]);
    expect(calls[0]!.output).toContain('Page Title: Bakery');
    expect(calls[1]!.output).toContain(`Page URL: ${site.origin}/hours`);
    expect(result.answer).toBe('The page says: Open 7 to 13, closed on Mondays');
    // Anything off loopback fails in the browser (TEST-NET-1, and no proxy there): no request leaves.
    expect(calls[2]!.error?.message).toMatch(/ERR_PROXY_CONNECTION_FAILED/);
    expect(site.requests).toContain('/hours');
  });
});
