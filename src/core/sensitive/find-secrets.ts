import { authorizationCredentials, namedSecrets, urlPasswords } from './named-secrets.js';
import { bareDerKeys, pemBlocks, puttyKeys } from './private-keys.js';
import { bareAwsSecrets, MAY_HOLD_TOKEN, providerTokens } from './secret-tokens.js';
import { secretlintFindings } from './secretlint-net.js';
import type { Span } from './span.js';

/** What a secret finding is: a private key, or any other credential (key, token, password). */
export type SecretKind = 'private_key' | 'api_key';

/** Where a secret sits in a text, which kind it is and which rule found it; never the value. */
export interface SecretFinding {
  kind: SecretKind;
  rule: string;
  start: number;
  end: number;
}

interface SecretRule {
  rule: string;
  kind: SecretKind;
  /** A cheap test that must pass before the scan is worth running. */
  mayMatch: RegExp;
  /** Spans, each optionally naming a narrower rule (the provider of a token). */
  scan(text: string): Iterable<Span | readonly [number, number, string]>;
}

const NAMED = /key|token|secret|passw|pwd|passphrase|credential|auth|sig/i;
// In priority order: where two findings overlap, the earlier rule's kind wins.
const RULES: readonly SecretRule[] = [
  { rule: 'pem_private_key', kind: 'private_key', mayMatch: /BEGIN/i, scan: pemBlocks },
  { rule: 'putty_private_key', kind: 'private_key', mayMatch: /PuTTY-User-Key-File/, scan: puttyKeys },
  { rule: 'der_private_key', kind: 'private_key', mayMatch: /M[A-Za-z0-9+/]{59}/, scan: bareDerKeys },
  {
    rule: 'provider_token',
    kind: 'api_key',
    mayMatch: MAY_HOLD_TOKEN,
    scan: (t) => [...providerTokens(t)].map(({ span, rule }) => [...span, rule] as const),
  },
  {
    rule: 'authorization',
    kind: 'api_key',
    mayMatch: /authorization|bearer|token|bot|basic/i,
    scan: authorizationCredentials,
  },
  { rule: 'url_password', kind: 'api_key', mayMatch: /:\/\//, scan: urlPasswords },
  { rule: 'named_secret', kind: 'api_key', mayMatch: NAMED, scan: namedSecrets },
  { rule: 'aws_secret_access_key', kind: 'api_key', mayMatch: /[A-Za-z0-9+/]{40}/, scan: bareAwsSecrets },
];

// What every rule needs to see before it can match: a token-like run of 20 characters (provider
// keys, JWTs, base64 keys, what secretlint's rules match), credentials in a URL, key armour, an
// auth scheme, or a secret-named key before `=` or `:`.
const MARKER = /Q~|:\/\/[^\s/@]*:[^\s/@]*@|BEGIN|[Bb]egin|PuTTY|Bearer|Basic |Token |Bot /;
const NAMED_BEFORE_OPERATOR = /(?:key|token|secret|pass|pwd|credential|auth|sig)[a-z_-]{0,12}\\?["']?\s{0,3}[:=]/i;

/** Letters, digits, _ + / =: the characters of keys, tokens and base64; `-` would make every UUID a run. */
const isTokenChar = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 43 || c === 47 || c === 61;

/**
 * The fast pre-filter for `redact()`: text that fails it holds no secret any rule could find.
 * One pass over the characters looks for a 20-character token run and for `:`, `=` or `~`; the rest
 * takes one regex for markers (armour, auth schemes, URL credentials) and, after an operator, one
 * for a secret-named key.
 */
export function mayHoldSecret(text: string): boolean {
  let run = 0;
  let operator = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isTokenChar(c)) {
      if (++run >= 20) return true;
    } else {
      run = 0;
      if (c === 58 || c === 126) operator = true;
    }
    if (c === 61) operator = true;
  }
  return MARKER.test(text) || (operator && NAMED_BEFORE_OPERATOR.test(text));
}

/**
 * Secrets in `text`: cadre's own rules first (precise spans: the password in a URL, the value
 * after `api_key=`), then secretlint's recommended rules for any provider format they miss.
 * Overlapping findings merge into one, so no part of a secret is left out of a finding.
 */
export function findSecrets(text: string): SecretFinding[] {
  const found: SecretFinding[] = [];
  for (const { rule, kind, mayMatch, scan } of RULES) {
    if (!mayMatch.test(text)) continue;
    for (const [start, end, narrower] of scan(text)) found.push({ kind, rule: narrower ?? rule, start, end });
  }
  const own = found.length;
  for (const [start, end] of secretlintFindings(text)) {
    // secretlint reports whole URLs and assignments; where cadre's rules found the secret inside, theirs is kept.
    if (!found.slice(0, own).some((f) => f.start < end && start < f.end))
      found.push({ kind: 'api_key', rule: 'secretlint', start, end });
  }
  return mergeSecrets(found);
}

function mergeSecrets(found: SecretFinding[]): SecretFinding[] {
  const rank = (f: SecretFinding) => (f.kind === 'private_key' ? 0 : 1);
  found.sort((a, b) => a.start - b.start || rank(a) - rank(b));
  const merged: SecretFinding[] = [];
  for (const finding of found) {
    const last = merged[merged.length - 1];
    if (last && finding.start < last.end) {
      last.end = Math.max(last.end, finding.end);
      if (rank(finding) < rank(last)) Object.assign(last, { kind: finding.kind, rule: finding.rule });
    } else merged.push({ ...finding });
  }
  return merged;
}
