import { spans, type Span } from './span.js';

// 12 to 19 digits; between any two, one separator: one or two spaces, a dot, an underscore or a dash.
const CARD = /(?<![\w.,+-]|\d(?: {1,2}|[._-]))\d(?:(?: {1,2}|[._-])?\d){11,18}(?![A-Za-z0-9]|[.,_-]\d)/g;

/** The Luhn checksum that every payment card number carries in its last digit. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

const between = (x: number, low: number, high: number) => x >= low && x <= high;

/** Whether the number starts with an issuer range (IIN) that issues cards of its length. */
function issuerFits(digits: string): boolean {
  const n = digits.length;
  const [p2, p3, p4] = [2, 3, 4].map((k) => Number(digits.slice(0, k))) as [number, number, number];
  const long = between(n, 16, 19);
  if (digits[0] === '4') return n === 13 || n === 16 || n === 19; // Visa, Visa Electron
  if ([5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763].includes(p4)) return between(n, 12, 19); // Maestro
  if (between(p2, 51, 55) || between(p4, 2221, 2720)) return n === 16; // Mastercard
  if (between(p4, 2200, 2204)) return long; // Mir
  if (p2 === 34 || p2 === 37) return n === 15; // American Express
  if (p2 === 36 || p2 === 38 || p2 === 39 || between(p3, 300, 305) || p4 === 3095) return between(n, 14, 19); // Diners Club
  if (p4 === 6011 || p2 === 65 || between(p3, 644, 649)) return long; // Discover
  if (between(p4, 3528, 3589)) return long; // JCB
  if (p2 === 62 || p2 === 81) return long; // UnionPay
  if (p2 === 60 || p2 === 82 || p3 === 508) return n === 16; // RuPay
  return p4 === 9792 && n === 16; // Troy
}

function cardSpan(m: RegExpExecArray): Span | undefined {
  const groups = [...m[0].matchAll(/\d+/g)];
  if (groups.length > 1) {
    // Printed cards are grouped 4-4-4-4, 4-6-5 or similar, with one kind of separator throughout.
    const kinds = new Set(m[0].match(/ +|[._-]/g)!.map((s) => (s[0] === ' ' ? ' ' : s)));
    if (kinds.size !== 1 || groups[0]![0].length !== 4) return undefined;
  }
  // Longest first: a card followed by another number group is found by cutting at a group end.
  for (let count = groups.length; count >= 1; count--) {
    const digits = groups
      .slice(0, count)
      .map((g) => g[0])
      .join('');
    if (digits.length < 12) break;
    const grouped = groups.slice(1, count).every((g) => g[0].length >= 3 && g[0].length <= 6);
    const last = groups[count - 1]!;
    if (grouped && issuerFits(digits) && luhnValid(digits)) return [m.index, m.index + last.index + last[0].length];
  }
  return undefined;
}

/** Payment card numbers: an issuer's range and length, and a valid Luhn check digit. */
export const paymentCards = (text: string) => spans(CARD, text, cardSpan);
