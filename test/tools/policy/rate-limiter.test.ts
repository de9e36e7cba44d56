import { describe, expect, it } from 'vitest';
import type { CadreError } from 'cadre';
import { RateLimiter, ToolPolicy } from 'cadre/tools';
import { serverOf } from '../../../tools/policy/rate-limiter.js';

const errorOf = (fn: () => void): CadreError | undefined => {
  try {
    fn();
  } catch (error) {
    return error as CadreError;
  }
  return undefined;
};

describe('RateLimiter', () => {
  it('throws rate_limited with retryAfterMs past the limit and refills over time', () => {
    let now = 0;
    const limiter = new RateLimiter({ tools: { 'search*': { perMinute: 2 } }, now: () => now });
    limiter.acquire('search');
    limiter.acquire('search');
    const error = errorOf(() => limiter.acquire('search'));
    expect(error).toMatchObject({ code: 'rate_limited', details: { retryAfterMs: 30_000 } });
    limiter.acquire('search_other'); // each tool has its own bucket
    now = 30_000;
    expect(errorOf(() => limiter.acquire('search'))).toBeUndefined();
  });

  it("shares one bucket among a server's tools when the policy limits `server__*`", () => {
    const limiter = RateLimiter.fromPolicy(new ToolPolicy({ rateLimits: { 'gh__*': { perMinute: 1 } } }), () => 0);
    limiter.acquire('gh__search');
    expect(errorOf(() => limiter.acquire('gh__create_issue'))?.code).toBe('rate_limited');
    limiter.acquire('slack__post');
  });

  it('takes nothing when any applicable bucket is empty', () => {
    let now = 0;
    const limiter = new RateLimiter({
      tools: { gh__search: { perMinute: 1 } },
      servers: { gh: { perMinute: 2 } },
      now: () => now,
    });
    limiter.acquire('gh__search');
    expect(errorOf(() => limiter.acquire('gh__search'))?.code).toBe('rate_limited');
    limiter.acquire('gh__other'); // the server bucket was not charged by the refused call
    expect(errorOf(() => limiter.acquire('gh__other'))?.details).toMatchObject({ retryAfterMs: 30_000 });
    now = 60_000;
    limiter.acquire('gh__search');
  });

  it('names the server of a namespaced tool', () => {
    expect(serverOf('github__create_issue')).toBe('github');
    expect(serverOf('calculator')).toBeUndefined();
  });
});
