import { parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max';
import { spans, type Span } from './span.js';

// Digit groups joined by one separator each ("415 555 2671", "(020) 7946 0958", "06.12.34.56.78"),
// optionally after + or 00. Each group is digits up to a separator, so matching never backtracks.
const CANDIDATE =
  /(?<![\w+.,/-]|\d[ .:-])(?:\+[ \t]?|00)?(?:\(\d{1,5}\)[ \t]{0,2}|\d{1,15}(?:[ \t]{1,2}|[ \t]?[./-][ \t]?)){0,7}\d{1,15}(?!\w|[.,:/-]?\d)/g;
const GROUP = /\+?\(?\d+\)?/g;

// National forms are read as numbers of these countries: the largest sources of traffic, and those
// whose written forms a reader recognises as a phone number. A leading 0 is a trunk prefix in the
// first list; the second holds countries whose numbers are written without one (RU's trunk is 8).
const TRUNK_ZERO: readonly CountryCode[] = [
  'GB',
  'DE',
  'FR',
  'NL',
  'BE',
  'CH',
  'AT',
  'AU',
  'IE',
  'JP',
  'ZA',
  'SE',
  'IT',
  'IN',
  'CN',
];
const NO_TRUNK: readonly CountryCode[] = ['IN', 'ES', 'IT', 'BR', 'MX', 'CN', 'RU', 'PL'];
// Numbers after these words are references, not phone numbers ("order 2024011512").
const REFERENCE_BEFORE =
  /(?:order|invoice|inv|ref|reference|ticket|tracking|id|build|version|isbn|sku|account|acct|transaction|txn|timestamp|epoch|serial|#)\s*(?:no\.?|num(?:ber)?)?\s*[:=#]?\s*$/i;

const PHONE_WORD =
  /(?:phone|call|ring|dial|text|sms|whatsapp|signal|telegram|mobile|cell|fax|tel|contact|reach|number|no\.|ph|mob|t[ée]l[ée]fon|portable|handy|m[óo]vil|celular|n[uú]mero|nummer)\b[^\d\n]{0,24}$/i;
const NANP_SHAPE = /^(?:1[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]\d{4}$/;
const NANP_LOOSE = /^(?:1[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]?\d{4}$/;
const digitGroups = (s: string) =>
  s
    .split(/\D+/)
    .filter(Boolean)
    .map((g) => g.length)
    .join(',');

function parse(candidate: string, country?: CountryCode): PhoneNumber | undefined {
  try {
    return parsePhoneNumberFromString(candidate, country);
  } catch {
    return undefined;
  }
}

/**
 * Whether `candidate` is a phone number. Valid numbers (libphonenumber's per-country ranges) count;
 * so do numbers in a reserved fictional range (555-0100, Ofcom's drama numbers) when they are
 * written exactly as the country formats them, because a reader takes those for phone numbers.
 */
function isPhone(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '');
  // Dotted quads are addresses, not numbers to call.
  if (digits.length < 7 || digits.length > 15 || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(candidate)) return false;
  const separated = /\D/.test(candidate.replace(/^\+/, ''));
  if (/^(?:\+|00)/.test(candidate)) {
    const number = parse(candidate.replace(/^00/, '+'));
    return (
      !!number &&
      (number.isValid() ||
        (number.isPossible() && digitGroups(candidate) === digitGroups(number.formatInternational())))
    );
  }
  // North American: ten digits (area code 2-9), bare and valid, or written 3-3-4 as NANP numbers are.
  if (/^1?[2-9]\d{9}$/.test(digits)) {
    const number = parse(digits, 'US');
    // Written 3-3-4 even a fictional 555 number reads as one; grouped 3-7 only a valid one does.
    if (
      separated && NANP_SHAPE.test(candidate) ? number?.isPossible() : number?.isValid() && NANP_LOOSE.test(candidate)
    )
      return true;
  }
  if (!separated && !/^0\d{9,10}$/.test(digits)) return false;
  if (digits.length < 9) return false;
  // One kind of separator, and no lone leading 0: "0.95 0.97 0.99" and "0 10 20 30" are not numbers to call.
  const separators = new Set(candidate.replace(/\(\d+\)\s?/g, '(').match(/[^\d(]+/g));
  const trunk = /^\(?0\d/.test(candidate) && digits.length >= 10 && separators.size <= 1;
  const zero = /^\(?0/.test(candidate);
  // Without a trunk 0, national forms open with a group of 2+ digits (RU's "8 (912)" aside) and
  // have 2 to 5 groups of at most 5: "5 123 456 789 bytes" is a count, not a number to call.
  const groups = candidate.split(/\D+/).filter(Boolean);
  if (
    !zero &&
    !(
      groups.length >= 2 &&
      groups.length <= 5 &&
      groups.every((g) => g.length <= 5) &&
      (groups[0]!.length >= 2 || /^8 ?\(/.test(candidate))
    )
  )
    return false;
  return (zero ? TRUNK_ZERO : NO_TRUNK).some((country) => {
    // Cheapest first: a length check, then the country's number patterns, which turn most numbers
    // away before the costlier formatting. A valid trunk-0 number counts in any grouping; others
    // must be grouped as their country writes them.
    const number = parse(candidate, country);
    return !!number?.isPossible() && number.isValid() && (trunk || groupedAsWritten(candidate, number));
  });
}

/** Whether the candidate's digit groups are those of the country's national or international format. */
function groupedAsWritten(candidate: string, number: PhoneNumber): boolean {
  const groups = digitGroups(candidate);
  const international = digitGroups(number.formatInternational()).split(',').slice(1).join(',');
  return groups === digitGroups(number.formatNational()) || groups === international;
}

/** Sub-ranges of a candidate, longest first, so a phone number next to other numbers is found. */
function* subCandidates(text: string, start: number, end: number): Generator<Span> {
  const groups = [...text.slice(start, end).matchAll(GROUP)].map((g): Span => [
    start + g.index,
    start + g.index + g[0].length,
  ]);
  for (let size = groups.length; size >= 1; size--) {
    for (let first = 0; first + size <= groups.length; first++) yield [groups[first]![0], groups[first + size - 1]![1]];
  }
}

/** Phone numbers, international (+, 00) and national, checked against libphonenumber's metadata. */
export function* phones(text: string): Generator<Span> {
  yield* spans(CANDIDATE, text, (m) => {
    const end = m.index + m[0].length;
    if (m[0].replace(/\D/g, '').length < 7) return undefined;
    for (const [s, e] of subCandidates(text, m.index, end)) {
      const candidate = text.slice(s, e);
      if (candidate.replace(/\D/g, '').length < 7) continue;
      // Cut from a longer run of numbers (a table row, a hex dump, an IP), only an unmistakable form counts.
      if ((s !== m.index || e !== end) && !/^(?:\+|00)/.test(candidate) && !NANP_SHAPE.test(candidate)) continue;
      const before = text.slice(Math.max(0, s - 40), s);
      if (!/^(?:\+|00)/.test(candidate) && REFERENCE_BEFORE.test(before)) continue;
      // Ten bare digits are as often a count or an id as a phone number: they need a word that says which.
      if (/^\d+$/.test(candidate) && !PHONE_WORD.test(before)) continue;
      if (isPhone(candidate)) return [s, e];
    }
    return undefined;
  });
}
