import { findSecrets, mayHoldSecret } from './sensitive/find-secrets.js';
import { prepareForScan } from './sensitive/normalize.js';

/** What stands in for a secret in events, audit records and approval requests. */
export const REDACTED = '[redacted]';

// Keys whose values are secrets whatever they look like: password, apiKey, x-api-key, client_secret,
// Authorization, Cookie, accessToken, private_key, AccountKey, passphrase, credentials, dsn.
const SECRET_KEY =
  /(?:api[-_]?key|secret|secret[-_]?key|access[-_]?key|account[-_]?key|private[-_]?key|passw(?:or)?d|passphrase|pwd|authorization|cookie|credentials?|token|connection[-_]?string|dsn)$/i;
const MAX_DEPTH = 32;

/** `text` with every secret found in it replaced by the marker; the rest stays readable. */
export function redactText(text: string): string {
  if (!mayHoldSecret(text)) return text;
  const scan = prepareForScan(text);
  const found = findSecrets(scan.text);
  if (found.length === 0) return text;
  let out = '';
  let at = 0;
  for (const finding of found) {
    const [start, end] = scan.toOriginal([finding.start, finding.end]);
    out += text.slice(at, start) + REDACTED;
    at = end;
  }
  return out + text.slice(at);
}

/**
 * Returns a deep copy with secrets replaced by "[redacted]": whole values under secret-named keys,
 * and inside every string the secret part alone (a key, a token, the password in a URL, a private
 * key block). Applied to every event, audit record and approval request, so secrets never leave
 * the process that holds them.
 */
export function redact<T>(value: T, depth = 0): T {
  return redactValue(value, depth, []) as T;
}

// Event payloads reuse a small set of key names; remembering the verdict saves a regex per key.
const keyVerdicts = new Map<string, boolean>();
function isSecretKey(key: string): boolean {
  let secret = keyVerdicts.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key);
    if (keyVerdicts.size < 4096) keyVerdicts.set(key, secret);
  }
  return secret;
}

// cadre's own ids and digests, at the top level of every event and journal step: not secrets, and
// long enough to cost a scan each time. Deeper down (inside tool arguments) the same names are scanned.
const ownIds = new Set(['runId', 'taskId', 'digest']);

function redactValue(value: unknown, depth: number, path: object[]): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  // Past the depth limit or around a cycle nothing is inspected, so nothing is passed on unread.
  if (depth > MAX_DEPTH || path.includes(value)) return REDACTED;
  path.push(value);
  let out: unknown;
  if (Array.isArray(value)) out = value.map((item: unknown) => redactValue(item, depth + 1, path));
  // An Error's message and name are not enumerable; keep them, redacted, rather than lose them.
  else if (value instanceof Error) out = { name: value.name, message: redactText(value.message) };
  else {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      const secret = item != null && item !== '' && typeof item !== 'boolean' && isSecretKey(key);
      copy[key] = secret
        ? REDACTED
        : depth === 0 && ownIds.has(key) && typeof item === 'string'
          ? item
          : redactValue(item, depth + 1, path);
    }
    out = copy;
  }
  path.pop();
  return out;
}
