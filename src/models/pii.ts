/** Personal data and secrets that raise a prompt to privacy `sensitive`, keeping it on local models. */
export type PiiKind = 'email' | 'phone' | 'card' | 'iban' | 'api_key' | 'private_key';

/**
 * Where a piece of personal data sits in a text. It carries offsets only, never the value, so a
 * finding can be logged or traced without leaking what it found.
 */
export interface PiiFinding {
  kind: PiiKind;
  start: number;
  end: number;
}

export interface PiiOptions {
  /** Look only for these kinds; all of them by default. */
  kinds?: readonly PiiKind[];
}

type Span = [start: number, end: number];

interface Detector {
  kind: PiiKind;
  /** A cheap test that must pass before the full scan is worth running. */
  mayContain(text: string): boolean;
  scan(text: string): Generator<Span>;
}

/**
 * Runs a global regex over `text` on a private copy, so a caller that stops early leaves no state
 * behind. A rejected match resumes one character later, so a look-alike cannot hide a real value.
 * Every pattern below starts at a lookbehind or a literal and uses bounded or unambiguous repetition,
 * which keeps each scan linear in the text.
 */
function* spans(pattern: RegExp, text: string, accept: (m: RegExpExecArray) => Span | undefined): Generator<Span> {
  const re = new RegExp(pattern.source, pattern.flags);
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const span = accept(m);
    if (span) yield span;
    re.lastIndex = span ? Math.max(span[1], m.index + 1) : m.index + 1;
  }
}

const whole = (m: RegExpExecArray): Span => [m.index, m.index + m[0].length];

const PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/g;

function* privateKeys(text: string): Generator<Span> {
  // The next END marker, found once and reused while it lies ahead, so many headers without an
  // END cannot make the search quadratic. -1: none left in the text.
  let end: number | undefined;
  for (const [start, headerEnd] of spans(PRIVATE_KEY, text, whole)) {
    if (end === undefined || (end !== -1 && end < headerEnd)) {
      const at = text.indexOf('-----END ', headerEnd);
      const close = at === -1 ? -1 : text.indexOf('-----', at + 9);
      end = close === -1 ? -1 : close + 5;
    }
    // A pasted key cut off before its END line is still a key; the header alone marks it.
    yield [start, end === -1 || end < headerEnd ? headerEnd : end];
  }
}

const KNOWN_KEY = new RegExp(
  '(?<![A-Za-z0-9_-])(?:' +
    [
      'sk-[A-Za-z0-9_-]{20,}', // OpenAI sk-, sk-proj-; Anthropic sk-ant-
      '(?:AKIA|ASIA)[A-Z0-9]{16}',
      'gh[opsu]_[A-Za-z0-9]{30,}',
      'github_pat_[A-Za-z0-9_]{30,}',
      'xox[abprs]-[A-Za-z0-9-]{10,}',
      'AIza[A-Za-z0-9_-]{35}',
      '[rs]k_live_[A-Za-z0-9]{16,}',
      'eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]+',
    ].join('|') +
    ')(?![A-Za-z0-9_-])',
  'g',
);

// `key`, `token`, `secret` or `password`, alone or ending a longer name (API_KEY, authToken), then `=` or `:`.
const ASSIGNED_SECRET =
  /(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]{0,64}?)(key|token|secret|passw(?:or)?d|pwd)(?![A-Za-z0-9])["']?\s{0,3}(?::=|=>|[:=])\s{0,3}(["'`]?)([^\s"'`]{12,})/gi;

/** Whether `keyword` names a secret rather than ending an unrelated word (monkey, MONKEY). */
function keywordStandsAlone(prefix: string, keyword: string): boolean {
  if (prefix === '' || /[_.-]$/.test(prefix)) return true;
  if (/^[A-Z][a-z]/.test(keyword) && /[a-z0-9]$/.test(prefix)) return true;
  return /(?:api|secret|access|auth|private|client)$/i.test(prefix);
}

/** Whether an assigned value is a literal secret, not code that fetches one or a placeholder. */
function looksSecret(value: string, isPassword: boolean): boolean {
  if (/^\$|\$\{|[(<{]|^(?:process\.env|os\.environ|env\.|config\.|settings\.|self\.|this\.)/.test(value)) return false;
  if (/^(.)\1*$|x{4,}|\*{3,}|your[_-]|placeholder|changeme|redacted/i.test(value)) return false;
  if (isPassword) return /[^A-Za-z]/.test(value);
  // Tokens are random: a digit and a letter from the token alphabet, not words joined by _ or -.
  return /^[A-Za-z0-9+/=_-]+$/.test(value) && /\d/.test(value) && /[A-Za-z]/.test(value) && !/^(?:[a-z]+|[A-Z]+)(?:[_-](?:[a-z]+|[A-Z]+|\d+))+$/.test(value);
}

function* apiKeys(text: string): Generator<Span> {
  // Generic prefixes (sk-, xox?-) also start hyphenated words; a real key has digits.
  yield* spans(KNOWN_KEY, text, (m) => (/^(?:sk-|xox)/.test(m[0]) && !/\d/.test(m[0]) ? undefined : whole(m)));
  yield* spans(ASSIGNED_SECRET, text, (m) => {
    const [all, prefix = '', keyword = '', quote = '', raw = ''] = m;
    if (!keywordStandsAlone(prefix, keyword)) return undefined;
    const value = quote ? raw : raw.replace(/[,;)\]}>]+$/, '');
    if (value.length < 12 || !looksSecret(value, /^p/i.test(keyword))) return undefined;
    const start = m.index + all.length - raw.length;
    return [start, start + value.length];
  });
}

/** IBAN length by country: SEPA members and the other countries most often seen in payments. */
const IBAN_LENGTH: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AT: 20, BE: 16, BG: 22, BH: 22, BR: 29, CH: 21, CY: 28, CZ: 24, DE: 22, DK: 18, EE: 20,
  ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GI: 23, GL: 18, GR: 27, HR: 21, HU: 28, IE: 22, IL: 23, IS: 26,
  IT: 27, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MT: 31, NL: 18, NO: 15, PL: 28, PT: 25, RO: 24, SA: 24,
  SE: 24, SI: 19, SK: 24, SM: 27, TR: 26, VA: 22,
};

const IBAN = /(?<![A-Za-z0-9])([A-Z]{2})\d{2}[ A-Z0-9]{11,38}/g;

/** ISO 13616 check: the country and check digits moved to the end, read as a number, mod 97 is 1. */
function ibanChecksumValid(iban: string): boolean {
  let rest = 0;
  for (const c of iban.slice(4) + iban.slice(0, 4)) {
    const code = c.charCodeAt(0);
    rest = code <= 57 ? (rest * 10 + code - 48) % 97 : (rest * 100 + code - 55) % 97;
  }
  return rest === 1;
}

function ibanSpan(text: string, m: RegExpExecArray): Span | undefined {
  const length = IBAN_LENGTH[m[1]!];
  if (!length) return undefined;
  // Take exactly the country's length, with a space after every group of four or none at all.
  const spaced = m[0][4] === ' ';
  let compact = '';
  let i = 0;
  for (; compact.length < length && i < m[0].length; i++) {
    const atGroup = compact.length > 0 && compact.length % 4 === 0;
    if (m[0][i] === ' ') {
      if (!spaced || !atGroup || m[0][i - 1] === ' ') return undefined;
    } else {
      if (spaced && atGroup && m[0][i - 1] !== ' ') return undefined;
      compact += m[0][i];
    }
  }
  const end = m.index + i;
  if (compact.length < length || /[A-Za-z0-9]/.test(text[end] ?? '')) return undefined;
  return ibanChecksumValid(compact) ? [m.index, end] : undefined;
}

// 13 to 19 digits, single spaces or dashes allowed between any two.
const CARD = /(?<![\w.,+-]|\d[ -])\d(?:[ -]?\d){12,18}(?!\w|[.,-]\d)/g;

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/** Whether the number starts with an issuer range that issues cards of its length. */
function issuerFits(digits: string): boolean {
  const n = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  if (digits[0] === '4') return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // Amex
  if (p2 === 36 || p2 === 38 || (p3 >= 300 && p3 <= 305)) return n >= 14 && n <= 19; // Diners
  const longCard = n >= 16 && n <= 19;
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) return longCard; // Discover
  if (p4 >= 3528 && p4 <= 3589) return longCard; // JCB
  return p2 === 62 && longCard; // UnionPay
}

function cardSpan(m: RegExpExecArray): Span | undefined {
  const groups = m[0].split(/[ -]/);
  // Printed cards are grouped 4-4-4-4, 4-6-5 or similar, with one kind of separator.
  if (groups.length > 1 && (/ /.test(m[0]) === /-/.test(m[0]) || groups[0]!.length !== 4)) return undefined;
  // Longest first: a card followed by another number group is found by cutting at a group end.
  for (let count = groups.length, length = m[0].length; count >= 1; count--) {
    const digits = groups.slice(0, count).join('');
    if (digits.length < 13) break;
    const grouped = groups.slice(1, count).every((g) => g.length >= 3 && g.length <= 6);
    if (grouped && issuerFits(digits) && luhnValid(digits)) return [m.index, m.index + length];
    length -= groups[count - 1]!.length + 1;
  }
  return undefined;
}

const LOCAL_PART = '[A-Za-z0-9_%+-][A-Za-z0-9._%+-]{0,63}';
const DOMAIN = '(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.){1,8}[A-Za-z]{2,24}';
const EMAIL = new RegExp(`(?<![A-Za-z0-9._%+-])${LOCAL_PART}@${DOMAIN}(?![A-Za-z0-9-]|\\.[A-Za-z0-9])`, 'g');
const FILE_EXTENSION = /\.(?:png|jpe?g|gif|svg|webp|ico|js|mjs|ts|css|json|html?|txt|pdf)$/i;

/**
 * Addresses that only look like e-mail are skipped: an scp-style git remote
 * (`git@github.com:org/repo`, the `:` followed at once by a path) and URL userinfo
 * (`ssh://git@host/...`) name an account on a host, not a person to write to; `icon@2x.png` is a
 * file. An address before a colon and a space ("write to bob@example.com: ...") still counts.
 */
function emailSpan(text: string, m: RegExpExecArray): Span | undefined {
  const end = m.index + m[0].length;
  if (text[end] === ':' && /[^\s]/.test(text[end + 1] ?? ' ')) return undefined;
  if (text.endsWith('//', m.index) || FILE_EXTENSION.test(m[0])) return undefined;
  return [m.index, end];
}

// International: + and 8 to 15 digits, each digit optionally after up to two of space . - ( ).
const PHONE_INTERNATIONAL = /(?<![\w+)])\+[1-9](?:[ .()-]{0,2}\d){7,14}(?!\w)/g;
// National: North American (555) 123-4567, 555-123-4567, 555.123.4567; or a trunk 0 with one
// separator throughout: 020 7946 0958, 06 12 34 56 78, 030/12345678, (020) 7946 0958.
const PHONE_NATIONAL = new RegExp(
  '(?<![\\w.,+/:-]|\\d[ ./-])(?:' +
    '(?<nanp>\\(\\d{3}\\) ?\\d{3}[-. ]\\d{4}|(?:1-)?\\d{3}-\\d{3}-\\d{4}|\\d{3}\\.\\d{3}\\.\\d{4})' +
    '|(?<trunk>0\\d{1,4}(?<sep>[ ./-])\\d{2,8}(?:\\k<sep>\\d{2,8}){0,4}|\\(0\\d{1,4}\\) ?\\d{3,8}(?:[ -]\\d{2,8}){0,3})' +
    ')(?!\\w|[.,/:-]\\d)',
  'g',
);

function nationalPhoneSpan(m: RegExpExecArray): Span | undefined {
  const digits = m[0].replace(/\D/g, '');
  if (m.groups?.nanp !== undefined) {
    // North American area codes never start with 0 or 1.
    const area = digits.length === 11 ? digits[1] : digits[0];
    return area! >= '2' ? whole(m) : undefined;
  }
  if (digits.length < 10 || digits.length > 12) return undefined;
  // Zero-padded dotted quads are addresses, not numbers to call.
  if (m.groups?.sep === '.' && /^\d{1,3}(?:\.\d{1,3}){3}$/.test(m[0])) return undefined;
  return whole(m);
}

// In priority order: where findings of two kinds overlap, the earlier kind wins (a card number
// inside a private key block is part of the key; an IBAN's digits are not a phone number).
const detectors: readonly Detector[] = [
  { kind: 'private_key', mayContain: (t) => t.includes('PRIVATE KEY'), scan: privateKeys },
  { kind: 'api_key', mayContain: (t) => /sk-|[rs]k_live_|AKIA|ASIA|gh[opsu]_|github_pat_|xox|AIza|eyJ|key|token|secret|passw|pwd/i.test(t), scan: apiKeys },
  { kind: 'iban', mayContain: (t) => /[A-Z]{2}\d{2}/.test(t), scan: (t) => spans(IBAN, t, (m) => ibanSpan(t, m)) },
  { kind: 'card', mayContain: (t) => /\d{4}/.test(t), scan: (t) => spans(CARD, t, cardSpan) },
  { kind: 'email', mayContain: (t) => t.includes('@'), scan: (t) => spans(EMAIL, t, (m) => emailSpan(t, m)) },
  {
    kind: 'phone',
    mayContain: (t) => /\d{2}/.test(t),
    scan: function* (t) {
      if (t.includes('+')) yield* spans(PHONE_INTERNATIONAL, t, whole);
      yield* spans(PHONE_NATIONAL, t, nationalPhoneSpan);
    },
  },
];

const activeDetectors = (text: string, options?: PiiOptions) =>
  detectors.filter((d) => (!options?.kinds || options.kinds.includes(d.kind)) && d.mayContain(text));

/**
 * Finds e-mail addresses, phone numbers, payment cards, IBANs, API keys and private keys in `text`,
 * sorted by position. Overlapping findings of one kind merge; across kinds the stronger one wins.
 */
export function detectPii(text: string, options?: PiiOptions): PiiFinding[] {
  const found: (PiiFinding & { rank: number })[] = [];
  activeDetectors(text, options).forEach((detector) => {
    const rank = detectors.indexOf(detector);
    for (const [start, end] of detector.scan(text)) found.push({ kind: detector.kind, start, end, rank });
  });
  found.sort((a, b) => a.start - b.start || a.rank - b.rank);
  const kept: (PiiFinding & { rank: number })[] = [];
  for (const finding of found) {
    const last = kept[kept.length - 1];
    if (!last || finding.start >= last.end) kept.push(finding);
    else if (finding.kind === last.kind) last.end = Math.max(last.end, finding.end);
    else if (finding.rank < last.rank) kept[kept.length - 1] = finding;
  }
  return kept.map(({ kind, start, end }) => ({ kind, start, end }));
}

/** Whether `text` holds any personal data or secret; stops at the first finding. */
export function containsPii(text: string, options?: PiiOptions): boolean {
  return activeDetectors(text, options).some((detector) => !detector.scan(text).next().done);
}
