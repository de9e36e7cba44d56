import { spans, type Span } from './span.js';

// A name that ends in a secret word (API_KEY, authToken, client_secret, db.password, sig), then
// `=`, `:`, `:=` or `=>`, then the value, quoted or bare. Query strings, .env files, YAML, JSON,
// connection strings (AccountKey=, Password=) and CLI flags all take this shape, also inside a
// JSON string that holds JSON (\"password\": \"...\"). A bare value takes = only as base64
// padding, so `key=key=key=...` cannot make every match run to the length limit.
const NAMED_VALUE =
  /(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]{0,64}?)(key|token|secret|passw(?:or)?d|pwd|passphrase|credentials?|auth|sig(?:nature)?)(?![A-Za-z0-9])\\?["']?\s{0,3}(?::=|=>|[:=])\s{0,3}(?:\\?(["'`])([^"'`\n\\]{1,200})\\?\3|((?:[^\s"'`<>\\=]|=(?=[=\s"'`&;,)\]}]|$)){1,400}))/gi;

/** Whether `keyword` names a secret rather than ending an unrelated word (monkey, whiskey). */
function keywordStandsAlone(prefix: string, keyword: string): boolean {
  if (prefix === '' || /[_.-]$/.test(prefix)) return true;
  if (/^[A-Z][a-z]/.test(keyword) && /[a-z0-9]$/.test(prefix)) return true;
  return /(?:api|secret|access|auth|private|client|account|session|refresh|bearer|master|signing|shared|db|user)$/i.test(
    prefix,
  );
}

const PLACEHOLDER =
  /^(.)\1*$|x{4,}|\*{3,}|^<.*>$|your[_-]|placeholder|changeme|redacted|example|^(?:password|passwd|secret|token|none|null|nil|undefined|true|false|string|required|optional)$/i;
const CODE =
  /^\$|\$\{|\{\{|%\(|[(<{[]|^(?:process\.env|os\.environ|env\.|config\.|settings\.|self\.|this\.|params\.|req\.|request\.)/;

/** Whether an assigned value is a literal secret, not code that fetches one or a placeholder. */
function looksSecret(value: string, keyword: string): boolean {
  // A value with spaces is prose ("Enter passphrase for ..."), code or a placeholder.
  // A long value is not a placeholder, even when a word like "example" sits inside it (an encoded key block).
  if (CODE.test(value) || (value.length <= 64 && PLACEHOLDER.test(value)) || /\s/.test(value)) return false;
  if (/^passw|^pwd|^passphrase/i.test(keyword)) {
    // A password may be short, but a path (pwd: /home/ana) or a plain word is not one.
    return value.length >= 6 && /[^A-Za-z]/.test(value) && !/^[~./]/.test(value) && !/^\d{1,2}$/.test(value);
  }
  if (value.length < 12) return false;
  // Tokens are random: a digit and a letter from the token alphabet, not words joined by _ or -.
  return (
    /^[A-Za-z0-9+/=_.%~-]+$/.test(value) &&
    /\d/.test(value) &&
    /[A-Za-z]/.test(value) &&
    !/^(?:[a-z]+|[A-Z]+)(?:[_.-](?:[a-z]+|[A-Z]+|\d+))+$/.test(value)
  );
}

/** Where a value that runs past the pattern's cap ends: the next space, quote, bracket, `&`, `#` or `;`. */
function delimiterAfter(text: string, from: number): number {
  const rest = text.slice(from).search(/[\s"'`<>&#;]/);
  return rest === -1 ? text.length : from + rest;
}

/** Values assigned to names like `password`, `api_key`, `AccountKey` or `?sig=`. */
export function* namedSecrets(text: string): Generator<Span> {
  yield* spans(NAMED_VALUE, text, (m) => {
    const [all, prefix = '', keyword = '', , quoted, bare] = m;
    if (!keywordStandsAlone(prefix, keyword)) return undefined;
    // In a query string `&` and `#` end the value; elsewhere they may be part of a password.
    const cut = quoted ?? bare!.split(/[?&;]/.test(text[m.index - 1] ?? '') ? /[&#;]/ : /[;,]/)[0]!;
    const value = quoted ?? cut.replace(/[.)\]}>]+$/, '');
    if (!looksSecret(value.trim(), keyword)) return undefined;
    const start =
      quoted !== undefined ? m.index + all.lastIndexOf(quoted, all.length - 1) : m.index + all.length - bare!.length;
    // The pattern stops after 400 characters (to stay linear); a longer value runs on to its delimiter.
    const end =
      quoted === undefined && bare!.length >= 400 && value === cut
        ? delimiterAfter(text, start + value.length)
        : start + value.length;
    return [start, end];
  });
}

// `Authorization: <scheme> <credentials>` up to the end of the line or the closing quote, and a
// bare `Bearer <token>` or `Basic <base64>` anywhere: the scheme goes with the credentials.
const AUTH_HEADER =
  /(?<![A-Za-z0-9_-])(?:proxy-)?authorization["']?\s{0,3}[:=]\s{0,3}["']?([A-Za-z][A-Za-z0-9_-]*(?:[ \t]+[^\s"'`,;]+(?:[ \t]*,[ \t]*[^\s"'`,;]+)*)?)/gi;
const BEARER = /(?<![A-Za-z0-9_-])(?:Bearer|Token|Bot)[ \t]+([A-Za-z0-9._~+/-]{16,}=*)/g;
const BASIC = /(?<![A-Za-z0-9_-])Basic[ \t]+([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])/g;

/** Whether a Basic credential decodes to `user:password`, so "Basic configuration" is left alone. */
function isBasicCredential(b64: string): boolean {
  try {
    return atob(b64).includes(':');
  } catch {
    return false;
  }
}

/** Authorization header values, and bearer or basic credentials written out in text. */
export function* authorizationCredentials(text: string): Generator<Span> {
  yield* spans(AUTH_HEADER, text, (m) => {
    const value = m[1]!;
    // Prose ("authorization: requires approval") and placeholders (`Bearer <token>`) are skipped.
    const credential = value.split(/[ \t]+/).pop()!;
    if (!/[0-9+/=_.-]/.test(credential) || PLACEHOLDER.test(credential) || CODE.test(credential)) return undefined;
    const start = m.index + m[0].length - value.length;
    return [start, start + value.length];
  });
  yield* spans(BEARER, text, (m) =>
    /\d/.test(m[1]!) || m[1]!.length >= 24 ? [m.index, m.index + m[0].length] : undefined,
  );
  yield* spans(BASIC, text, (m) => (isBasicCredential(m[1]!) ? [m.index, m.index + m[0].length] : undefined));
}

// scheme://user:password@host: the password alone is secret; user and host stay readable.
// A password may hold ? and # when pasted without percent-encoding; it ends at the last @ before a path.
const USERINFO = /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,30}:\/\/[^\s:/?#@"'`<>]{0,128}:([^\s/@"'`<>]{1,256})@/g;

/** Passwords in URL userinfo, as in `postgres://app:PASSWORD@db/prod`. */
export function* urlPasswords(text: string): Generator<Span> {
  yield* spans(USERINFO, text, (m) => {
    const password = m[1]!;
    if (PLACEHOLDER.test(password) || CODE.test(password) || /^pass$|^pw$|^\*+$/i.test(password)) return undefined;
    const end = m.index + m[0].length - 1;
    return [end - password.length, end];
  });
}
