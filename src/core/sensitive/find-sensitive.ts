import { emails } from './email.js';
import { findSecrets } from './find-secrets.js';
import { ibans } from './iban.js';
import { prepareForScan } from './normalize.js';
import { paymentCards } from './payment-card.js';
import { phones } from './phone.js';
import type { Span } from './span.js';

/** Personal data and secrets: what keeps a prompt on local models and out of stored events. */
export type SensitiveKind = 'email' | 'phone' | 'card' | 'iban' | 'api_key' | 'private_key';

/** Where a piece of sensitive data sits in a text: offsets into the original, never the value. */
export interface SensitiveFinding {
  kind: SensitiveKind;
  start: number;
  end: number;
}

interface Detector {
  kinds: readonly SensitiveKind[];
  /** A cheap test that must pass before the full scan is worth running. */
  mayContain(text: string): boolean;
  scan(text: string): Iterable<{ kind: SensitiveKind; span: Span }>;
}

const tagged = (kind: SensitiveKind, found: Iterable<Span>) => Array.from(found, (span) => ({ kind, span }));

// In priority order: where findings of two kinds overlap, the earlier kind wins (a card number
// inside a private key block is part of the key; an IBAN's digits are not a phone number).
const KINDS: readonly SensitiveKind[] = ['private_key', 'api_key', 'iban', 'card', 'email', 'phone'];
const DETECTORS: readonly Detector[] = [
  {
    kinds: ['private_key', 'api_key'],
    mayContain: () => true,
    scan: (t) => findSecrets(t).map((f) => ({ kind: f.kind, span: [f.start, f.end] })),
  },
  { kinds: ['iban'], mayContain: (t) => /[A-Za-z]{2}\d{2}/.test(t), scan: (t) => tagged('iban', ibans(t)) },
  { kinds: ['card'], mayContain: (t) => /\d{4}/.test(t), scan: (t) => tagged('card', paymentCards(t)) },
  { kinds: ['email'], mayContain: (t) => t.includes('@'), scan: (t) => tagged('email', emails(t)) },
  {
    kinds: ['phone'],
    mayContain: (t) => /\d[^\n]{0,6}\d[^\n]{0,6}\d/.test(t),
    scan: (t) => tagged('phone', phones(t)),
  },
];

function* scanAll(text: string, kinds: readonly SensitiveKind[]): Generator<{ kind: SensitiveKind; span: Span }> {
  for (const detector of DETECTORS) {
    if (!detector.kinds.some((k) => kinds.includes(k)) || !detector.mayContain(text)) continue;
    for (const found of detector.scan(text)) if (kinds.includes(found.kind)) yield found;
  }
}

/** Whether `text` holds any of `kinds`; stops at the first detector that finds one. */
export function containsSensitive(text: string, kinds: readonly SensitiveKind[] = KINDS): boolean {
  return !scanAll(prepareForScan(text).text, kinds).next().done;
}

/**
 * Finds e-mail addresses, phone numbers, payment cards, IBANs, API keys and private keys in
 * `text`, sorted by position, after NFKC normalisation and removal of zero-width characters.
 * Overlapping findings of one kind merge; across kinds the stronger one wins.
 */
export function findSensitive(text: string, kinds: readonly SensitiveKind[] = KINDS): SensitiveFinding[] {
  const scan = prepareForScan(text);
  const found: (SensitiveFinding & { rank: number })[] = [];
  for (const { kind, span } of scanAll(scan.text, kinds)) {
    const [start, end] = scan.toOriginal(span);
    found.push({ kind, start, end, rank: KINDS.indexOf(kind) });
  }
  found.sort((a, b) => a.start - b.start || a.rank - b.rank);
  const kept: (SensitiveFinding & { rank: number })[] = [];
  for (const finding of found) {
    const last = kept[kept.length - 1];
    if (!last || finding.start >= last.end) kept.push(finding);
    else if (finding.kind === last.kind) last.end = Math.max(last.end, finding.end);
    else if (finding.rank < last.rank) kept[kept.length - 1] = finding;
  }
  return kept.map(({ kind, start, end }) => ({ kind, start, end }));
}
