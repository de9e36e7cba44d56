import { z } from 'zod';
import { CadreError } from '../../src/core/index.js';
import { defineTool, type Tool } from '../define-tool.js';

/** The hosts `http_fetch` may reach, and its limits. */
export interface HttpFetchOptions {
  /** Host names the tool may reach (exact, case-insensitive; `.example.com` also allows subdomains). */
  allowedHosts: readonly string[];
  /** The fetch implementation. Default the global `fetch`. */
  fetch?: typeof fetch;
  /** Most bytes of body returned. Default 256 KiB. */
  maxBytes?: number;
  /** Per call. Default: the agent's tool timeout. */
  timeoutMs?: number;
}

const maxRedirects = 3;

/** `http_fetch`: GET a URL on an allowed host; redirects are followed only to allowed hosts. */
export function createHttpFetchTool(options: HttpFetchOptions): Tool {
  const doFetch = options.fetch ?? fetch;
  const maxBytes = options.maxBytes ?? 256 * 1024;
  const allowed = options.allowedHosts.map((h) => h.toLowerCase());
  const check = (raw: string): URL => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new CadreError('input_invalid', `Not a URL: ${raw}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new CadreError('input_invalid', 'Only http and https URLs');
    const host = url.hostname.toLowerCase();
    const ok = allowed.some((a) => (a.startsWith('.') ? host.endsWith(a) || host === a.slice(1) : host === a));
    if (!ok)
      throw new CadreError(
        'host_not_allowed',
        `Host "${host}" is not in the allowed hosts (${allowed.join(', ') || 'none'})`,
      );
    return url;
  };
  return defineTool({
    name: 'http_fetch',
    description: `Fetch a web page or API response with GET. Allowed hosts: ${allowed.join(', ') || 'none'}.`,
    input: z.object({ url: z.string().min(1).max(4096) }),
    effects: 'read',
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    run: async ({ url }, { signal }) => {
      let target = check(url);
      for (let hop = 0; ; hop++) {
        const response = await doFetch(target, { method: 'GET', redirect: 'manual', signal });
        const location = response.headers.get('location');
        if (response.status >= 300 && response.status < 400 && location) {
          await response.body?.cancel();
          if (hop >= maxRedirects) throw new CadreError('tool_failed', `More than ${maxRedirects} redirects`);
          target = check(new URL(location, target).toString());
          continue;
        }
        const body = await readCapped(response, maxBytes);
        return `HTTP ${response.status} ${response.headers.get('content-type') ?? ''}\n\n${body}`;
      }
    },
  });
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let cut = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > maxBytes) {
      cut = true;
      await reader.cancel();
      break;
    }
  }
  const text = Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
  return cut ? `${text}\n…[body truncated at ${maxBytes} bytes]` : text;
}
