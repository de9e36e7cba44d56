import { getCountrySpecifications, isValidIBAN } from 'ibantools';
import { spans, type Span } from './span.js';

/** IBAN length by country, from ibantools' registry (124 countries and territories). */
const LENGTH: ReadonlyMap<string, number> = new Map(
  Object.entries(getCountrySpecifications()).flatMap(([country, spec]) =>
    spec.chars ? [[country, spec.chars] as const] : [],
  ),
);

// Country code and check digits, then letters and digits with at most one separator (a space, two
// spaces or a dash) between any two: printed in fours, in threes, or not grouped at all.
const CANDIDATE = /(?<![A-Za-z0-9])([A-Za-z]{2})\d{2}(?:(?: {1,2}|-)?[A-Za-z0-9]){8,32}/g;

function ibanSpan(text: string, m: RegExpExecArray): Span | undefined {
  const length = LENGTH.get(m[1]!.toUpperCase());
  if (!length) return undefined;
  // Take exactly the country's length of characters; the next character must not go on with the code.
  let compact = '';
  let i = 0;
  for (; compact.length < length && i < m[0].length; i++) if (/[A-Za-z0-9]/.test(m[0][i]!)) compact += m[0][i];
  const end = m.index + i;
  if (compact.length < length || /[A-Za-z0-9]/.test(text[end] ?? '')) return undefined;
  // Mixed case is a word or an identifier, not an IBAN written in lower case.
  if (compact !== compact.toUpperCase() && compact !== compact.toLowerCase()) return undefined;
  return isValidIBAN(compact.toUpperCase()) ? [m.index, end] : undefined;
}

/** IBANs in any case and grouping, checked for their country's length, format and mod-97 digits. */
export const ibans = (text: string) => spans(CANDIDATE, text, (m) => ibanSpan(text, m));
