import type { MiddlewareHandler } from 'hono';
import { CadreError } from '../../core/index.js';

/** What the guard accepts; filled in once the server listens (the names depend on its port). */
export interface HostOriginPolicy {
  /** Accepted Host header values (`host:port`), lower case. */
  hosts: ReadonlySet<string>;
  /** Accepted Origin header values, lower case; a request without Origin (not a browser) passes. */
  origins: ReadonlySet<string>;
}

/** The loopback names of a server on `port`, and the origins of pages served from them. */
export function loopbackPolicy(options: {
  host: string;
  port: number;
  allowedHosts?: readonly string[];
  corsOrigins?: readonly string[];
}): HostOriginPolicy {
  const { host, port } = options;
  const names = ['127.0.0.1', 'localhost', '[::1]', host.includes(':') ? `[${host}]` : host].map(
    (name) => `${name}:${port}`,
  );
  return {
    hosts: new Set([...names, ...(options.allowedHosts ?? [])].map((h) => h.toLowerCase())),
    origins: new Set([...names.map((n) => `http://${n}`), ...(options.corsOrigins ?? [])].map((o) => o.toLowerCase())),
  };
}

/**
 * Checks Host (the DNS-rebinding defence: a page on evil.example resolving to 127.0.0.1 still sends
 * its own Host) and Origin (cross-site browsers) before anything else runs, as `cadre mcp serve
 * --http` does. `policy` is read per request, so a server on port 0 can fill it in once listening.
 */
export function hostOriginGuard(policy: () => HostOriginPolicy | undefined): MiddlewareHandler {
  return async (c, next) => {
    const current = policy();
    if (!current) throw new CadreError('unavailable', 'The server is starting');
    const host = c.req.header('host')?.toLowerCase();
    if (!host || !current.hosts.has(host))
      throw new CadreError('request_forbidden', `Host "${host ?? ''}" is not allowed`);
    const origin = c.req.header('origin')?.toLowerCase();
    if (origin !== undefined && !current.origins.has(origin))
      throw new CadreError('request_forbidden', `Origin "${origin}" is not allowed`);
    await next();
  };
}
