import picomatch from 'picomatch';
import { CadreError } from '../../src/core/index.js';
import type { ToolPolicy } from './tool-policy.js';

/** How many calls a minute a bucket allows; bursts up to that many. */
export interface RateLimit {
  perMinute: number;
}

/** Rate limits by tool and by MCP server. */
export interface RateLimiterOptions {
  /** Globs over tool names; each matching tool gets its own bucket. */
  tools?: Record<string, RateLimit>;
  /** Globs over server names (the prefix before `__`); all of a server's tools share one bucket. */
  servers?: Record<string, RateLimit>;
  /** Clock in milliseconds; injectable so tests need not wait. */
  now?: () => number;
}

/** A token bucket: holds up to `perMinute` calls and refills continuously, so bursts are bounded. */
class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perMinute: number,
    now: number,
  ) {
    this.tokens = perMinute;
    this.last = now;
  }

  /** Milliseconds until one token is available (0 when one is available now). */
  waitMs(now: number): number {
    this.tokens = Math.min(this.perMinute, this.tokens + ((now - this.last) * this.perMinute) / 60_000);
    this.last = now;
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 60_000) / this.perMinute);
  }

  take(): void {
    this.tokens -= 1;
  }
}

/** Limits how often tools, and MCP servers as a whole, may be called. */
export class RateLimiter {
  private readonly rules: Array<{
    scope: 'tool' | 'server';
    glob: string;
    match: (name: string) => boolean;
    perMinute: number;
  }>;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly now: () => number;

  constructor(options: RateLimiterOptions = {}) {
    const entries = (scope: 'tool' | 'server', limits: Record<string, RateLimit> = {}) =>
      Object.entries(limits).map(([glob, { perMinute }]) => ({ scope, glob, match: picomatch(glob), perMinute }));
    this.rules = [...entries('tool', options.tools), ...entries('server', options.servers)];
    this.now = options.now ?? Date.now;
  }

  /**
   * From a policy's `rateLimits`: a key `server__*` limits that whole server; any other glob
   * limits each matching tool on its own.
   */
  static fromPolicy(policy: ToolPolicy, now?: () => number): RateLimiter {
    const tools: Record<string, RateLimit> = {};
    const servers: Record<string, RateLimit> = {};
    for (const [glob, limit] of Object.entries(policy.config.rateLimits ?? {})) {
      const server = /^([a-zA-Z0-9_-]+?)__\*$/.exec(glob)?.[1];
      if (server) servers[server] = limit;
      else tools[glob] = limit;
    }
    return new RateLimiter({ tools, servers, ...(now ? { now } : {}) });
  }

  /** Takes one call from every bucket that applies; throws `rate_limited` with `retryAfterMs` and takes nothing when any is empty. */
  acquire(tool: string): void {
    const now = this.now();
    const server = serverOf(tool);
    const buckets: TokenBucket[] = [];
    let retryAfterMs = 0;
    for (const rule of this.rules) {
      const subject = rule.scope === 'tool' ? tool : server;
      if (subject === undefined || !rule.match(subject)) continue;
      const key = `${rule.scope}:${rule.glob}:${subject}`;
      let bucket = this.buckets.get(key);
      if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(rule.perMinute, now)));
      retryAfterMs = Math.max(retryAfterMs, bucket.waitMs(now));
      buckets.push(bucket);
    }
    if (retryAfterMs > 0) {
      throw new CadreError(
        'rate_limited',
        `${tool} was called too often; try again in ${Math.ceil(retryAfterMs / 1000)} s`,
        { details: { retryAfterMs } },
      );
    }
    for (const bucket of buckets) bucket.take();
  }
}

/** The MCP server a namespaced tool belongs to (`github__create_issue` → `github`). */
export function serverOf(tool: string): string | undefined {
  const at = tool.indexOf('__');
  return at > 0 ? tool.slice(0, at) : undefined;
}
