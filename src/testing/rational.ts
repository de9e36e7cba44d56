/** An exact fraction `n / d` in lowest terms with `d > 0`, for Game of 24 arithmetic. */
export interface Rational {
  readonly n: number;
  readonly d: number;
}

const gcd = (a: number, b: number): number => {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
};

/** A fraction in lowest terms; throws RangeError once a part leaves the exact range of a double. */
export function rational(n: number, d = 1): Rational {
  if (d === 0) throw new RangeError('division by zero');
  // Past 2^53 a double stops being exact, and "exactly 24" would mean nothing.
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(d)) throw new RangeError('number too large to be exact');
  const g = gcd(n, d) || 1;
  const sign = d < 0 ? -1 : 1;
  return { n: (sign * n) / g || 0, d: (sign * d) / g };
}

/** The four operations over rationals; `/` throws RangeError on a zero divisor. */
export const arithmetic = {
  '+': (a: Rational, b: Rational) => rational(a.n * b.d + b.n * a.d, a.d * b.d),
  '-': (a: Rational, b: Rational) => rational(a.n * b.d - b.n * a.d, a.d * b.d),
  '*': (a: Rational, b: Rational) => rational(a.n * b.n, a.d * b.d),
  '/': (a: Rational, b: Rational) => rational(a.n * b.d, a.d * b.n),
} as const;

/** One of `+ - * /`. */
export type Operator = keyof typeof arithmetic;

export const equals = (a: Rational, b: Rational) => a.n === b.n && a.d === b.d;
export const isInteger = (a: Rational) => a.d === 1;
export const formatRational = (a: Rational) => (a.d === 1 ? String(a.n) : `${a.n}/${a.d}`);

/** Reads `7` or `8/3` (as `formatRational` writes them); undefined for anything else. */
export function parseRational(text: string): Rational | undefined {
  const match = /^(-?\d+)(?:\/(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  try {
    return rational(Number(match[1]), match[2] === undefined ? 1 : Number(match[2]));
  } catch {
    return undefined;
  }
}
