import { containsSensitive, findSensitive, type SensitiveKind } from '../core/sensitive/index.js';

/**
 * Personal data and secrets that raise a prompt to privacy `sensitive`, keeping it on local models:
 * `email`, `phone`, `card`, `iban`, `api_key` or `private_key`.
 */
export type PiiKind = SensitiveKind;

/**
 * Where a piece of personal data sits in a text. It carries offsets only, never the value, so a
 * finding can be logged or traced without leaking what it found.
 */
export interface PiiFinding {
  kind: PiiKind;
  /** Offset of its first character, in UTF-16 code units. */
  start: number;
  /** Offset just past its last character. */
  end: number;
}

/** What `detectPii` and `containsPii` look for. */
export interface PiiOptions {
  /** Look only for these kinds; all of them by default. */
  kinds?: readonly PiiKind[];
}

/**
 * Finds e-mail addresses, phone numbers, payment cards (Luhn), IBANs (mod-97), API keys and
 * private keys in `text`, sorted by position. The detector is the one `redact()` uses for secrets
 * (src/core/sensitive); overlapping findings of one kind merge, across kinds the stronger one wins.
 */
export function detectPii(text: string, options?: PiiOptions): PiiFinding[] {
  return findSensitive(text, options?.kinds);
}

/** Whether `text` holds any personal data or secret; stops at the first finding. */
export function containsPii(text: string, options?: PiiOptions): boolean {
  return containsSensitive(text, options?.kinds);
}
