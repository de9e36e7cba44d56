import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';

/**
 * Refuses a request body over `maxSize` bytes: by its Content-Length when it has one, else (a
 * chunked body) by reading it up to the limit. Hono's own `bodyLimit` rebuilds a chunked request
 * with `new Request(c.req.raw, ...)`, which fails on @hono/node-server's request object when the
 * global Request is not replaced (`overrideGlobalObjects: false`, as here): every chunked POST came
 * back 500. This rebuilds it from its URL, method and headers instead.
 * The body stream is touched only for a body without a length: on @hono/node-server, asking for
 * `raw.body` builds a web Request and stream, and the route then reads its body through them
 * rather than straight from the socket.
 */
export function bodyLimit(options: { maxSize: number; onError: (c: Context) => Response }): MiddlewareHandler {
  return async (c, next) => {
    const raw = c.req.raw;
    const length = raw.headers.get('content-length');
    const chunked = raw.headers.has('transfer-encoding');
    if (length !== null && !chunked) return Number(length) > options.maxSize ? options.onError(c) : next();
    // An HTTP/1 request with neither header has no body.
    if (!chunked && (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.httpVersionMajor === 1)
      return next();
    if (!raw.body) return next();
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = raw.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > options.maxSize) {
        await reader.cancel();
        return options.onError(c);
      }
      chunks.push(value);
    }
    const headers = new Headers(raw.headers);
    headers.delete('transfer-encoding');
    headers.set('content-length', String(size));
    c.req.raw = new Request(c.req.url, {
      method: raw.method,
      headers,
      body: Buffer.concat(chunks),
      signal: raw.signal,
    });
    return next();
  };
}
