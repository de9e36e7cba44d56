import type { MiddlewareHandler } from 'hono';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { CadreError } from '../../core/index.js';
import type { ApiKeys } from '../../runtime/store/index.js';

/** Who is calling: the API key's id (never the key), whether it is an admin key, and its end user. */
export interface Caller {
  keyId: string;
  admin: boolean;
  /** The end user a frontend on one key acts for (`X-Cadre-User`); scopes what the request sees. */
  user?: string;
}

/** The variables the API's middleware sets on each request. */
export interface ApiEnv {
  Variables: { caller: Caller };
}

/** The header a frontend serving many people on one key names its end user in. */
export const userHeader = 'x-cadre-user';

// Names a key is commonly passed under in a URL, where it ends up in logs and browser history.
const keyParams = ['key', 'api_key', 'apikey', 'access_token', 'token', 'auth'];
/** What an end user's id may be (`X-Cadre-User`, or the `user` of an OpenAI request). */
export const userPattern = /^[\w.@:+-]{1,128}$/;

/**
 * Authenticates every request by `Authorization: Bearer <key>` against the stored keys (hashed,
 * compared in constant time), refuses a key sent in the query string, and limits each key to
 * `perMinute` requests.
 */
export function apiKeyAuth(options: { keys: ApiKeys; perMinute: number }): MiddlewareHandler<ApiEnv> {
  const limiter = new RateLimiterMemory({ points: options.perMinute, duration: 60 });
  return async (c, next) => {
    // Parsed only when there is a query string: most requests have none.
    const query = c.req.url.includes('?') ? new URL(c.req.url).searchParams : undefined;
    if (query && keyParams.some((name) => query.has(name)))
      throw new CadreError(
        'input_invalid',
        'API keys go in the Authorization header (Bearer), never in the URL; this request was not carried out',
      );
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    if (!match) throw new CadreError('auth_failed', 'An API key is required: Authorization: Bearer <key>');
    const key = await options.keys.verify(match[1]!);
    if (!key) throw new CadreError('auth_failed', 'The API key is not valid, or has been revoked');
    try {
      await limiter.consume(key.id);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      throw new CadreError('rate_limited', `Over ${options.perMinute} requests a minute for this key`, {
        kind: 'user',
        details: { retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) },
      });
    }
    const user = c.req.header(userHeader);
    if (user !== undefined && !userPattern.test(user))
      throw new CadreError('input_invalid', `${userHeader} must be 1-128 letters, digits or _ . @ : + -`);
    c.set('caller', { keyId: key.id, admin: key.admin, ...(user !== undefined ? { user } : {}) });
    await next();
  };
}
