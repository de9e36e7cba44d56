import { request } from 'node:http';
import { z } from 'zod';
import { defineTool, type Tool } from 'cadre/tools';

/** A tool that counts its calls, so a test can prove a rejected request ran nothing. */
export function countingTool(): { tool: Tool; calls: () => number } {
  let calls = 0;
  const tool = defineTool({
    name: 'count',
    description: 'Adds one to a counter and returns it.',
    input: z.object({ note: z.string().optional() }),
    effects: 'write',
    run: () => String(++calls),
  });
  return { tool, calls: () => calls };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with exactly the headers given (fetch will not let a test set Host). */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | string[] },
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: options.method ?? 'POST',
        headers: options.headers ?? {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    // The server may close while a large body is still going out; the response is what counts.
    req.on('error', (error) => (/EPIPE|ECONNRESET/.test(String(error)) ? undefined : reject(error)));
    const parts = Array.isArray(options.body) ? options.body : options.body !== undefined ? [options.body] : [];
    for (const part of parts) req.write(part);
    req.end();
  });
}

/** A JSON-RPC tools/call of the counting tool, padded to `padTo` characters when asked. */
export function countCall(padTo = 0): string {
  const base = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'count', arguments: { note: '' } } };
  const size = JSON.stringify(base).length;
  base.params.arguments.note = 'x'.repeat(Math.max(0, padTo - size));
  return JSON.stringify(base);
}
