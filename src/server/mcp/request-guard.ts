import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface RequestGuardOptions {
  /** Accepted Host header values (`host:port`), lower case. */
  allowedHosts: ReadonlySet<string>;
  /** Accepted Origin header values, lower case; a request without Origin (not a browser) passes. */
  allowedOrigins: ReadonlySet<string>;
  bearerToken?: string;
  maxBodyBytes: number;
}

/** Why a request was turned away before any of it reached the MCP server. */
export interface Rejection {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Checks what can be checked from the headers alone, in the order that leaks least: Host (the
 * DNS-rebinding defence), Origin (cross-site browsers), bearer token, then declared body size.
 */
export function checkHeaders(req: IncomingMessage, options: RequestGuardOptions): Rejection | undefined {
  const host = req.headers.host?.toLowerCase();
  if (!host || !options.allowedHosts.has(host)) return { status: 403, message: `Host "${host ?? ''}" is not allowed` };
  const origin = req.headers.origin?.toLowerCase();
  if (origin !== undefined && !options.allowedOrigins.has(origin))
    return { status: 403, message: `Origin "${origin}" is not allowed` };
  if (options.bearerToken !== undefined) {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    // Compare digests so the comparison takes the same time whatever the token length.
    const ok = match !== null && timingSafeEqual(digest(match[1]!.trim()), digest(options.bearerToken));
    if (!ok) {
      const error = match ? 'error="invalid_token"' : '';
      return {
        status: 401,
        message: 'A valid bearer token is required',
        headers: { 'WWW-Authenticate': `Bearer realm="cadre"${error ? `, ${error}` : ''}` },
      };
    }
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > options.maxBodyBytes) return { status: 413, message: `Body over ${options.maxBodyBytes} bytes` };
  return undefined;
}

/**
 * Reads the body, giving up (undefined) as soon as it passes `maxBytes`, whatever Content-Length said.
 * It pauses rather than destroys the request, so the caller can still answer 413 before closing.
 */
export function readBodyCapped(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      req.off('data', onData);
      req.pause();
      resolve(undefined);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
