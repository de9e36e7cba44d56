import { arithmetic, rational, type Operator, type Rational } from './rational.js';

/** An arithmetic expression over whole numbers: a literal, or an operator over two expressions. */
export type Expression = number | { op: Operator; left: Expression; right: Expression };

const precedence = (op: Operator) => (op === '+' || op === '-' ? 1 : 2);

/** Writes an expression with only the parentheses its meaning needs, e.g. `(13 - 9) * (10 - 4)`. */
export function formatExpression(e: Expression): string {
  if (typeof e === 'number') return String(e);
  const side = (child: Expression, right: boolean) => {
    const text = formatExpression(child);
    if (typeof child === 'number') return text;
    const p = precedence(child.op);
    const q = precedence(e.op);
    // `a - (b - c)` and `a / (b * c)` keep their parentheses; `a + (b + c)` does not need them.
    return p < q || (p === q && right && (e.op === '-' || e.op === '/')) ? `(${text})` : text;
  };
  return `${side(e.left, false)} ${e.op} ${side(e.right, true)}`;
}

type Canon = { kind: 'leaf'; text: string } | { kind: 'sum' | 'product'; parts: Array<[1 | -1, string]> };

const show = (c: Canon): string => {
  if (c.kind === 'leaf') return c.text;
  const sorted = [...c.parts].sort(([a, x], [b, y]) => b - a || (x < y ? -1 : x > y ? 1 : 0));
  const [plus, minus] = c.kind === 'sum' ? ['+', '-'] : ['*', '/'];
  return `(${sorted.map(([sign, text]) => `${sign === 1 ? plus : minus}${text}`).join('')})`;
};

/**
 * A form shared by expressions that differ only by reordering sums and products or by moving
 * parentheses inside them (`a+(b-c)` and `(a-c)+b`), so such solutions count once.
 */
export function canonicalForm(e: Expression): string {
  return show(canon(e));
}

function canon(e: Expression): Canon {
  if (typeof e === 'number') return { kind: 'leaf', text: String(e) };
  const kind = e.op === '+' || e.op === '-' ? 'sum' : 'product';
  const partsOf = (c: Canon, sign: 1 | -1): Array<[1 | -1, string]> =>
    c.kind === kind ? c.parts.map(([s, text]) => [(s * sign) as 1 | -1, text]) : [[sign, factorText(c, kind)]];
  const inverse = e.op === '-' || e.op === '/' ? -1 : 1;
  return { kind, parts: [...partsOf(canon(e.left), 1), ...partsOf(canon(e.right), inverse)] };
}

/**
 * A sum as a factor of a product is written with the sign that sorts first: `(a - b) * (c - d)`
 * and `(b - a) * (d - c)` are one solution, since both equal the same target.
 */
function factorText(c: Canon, kind: 'sum' | 'product'): string {
  if (kind !== 'product' || c.kind !== 'sum') return show(c);
  const negated = show({ kind: 'sum', parts: c.parts.map(([s, text]) => [-s as 1 | -1, text]) });
  const text = show(c);
  return negated < text ? negated : text;
}

/** The exact value of an expression; throws RangeError on division by zero. */
export function evaluate(e: Expression): Rational {
  if (typeof e === 'number') return rational(e);
  return arithmetic[e.op](evaluate(e.left), evaluate(e.right));
}

const symbols: Record<string, Operator> = { '+': '+', '-': '-', '*': '*', '/': '/', '×': '*', '÷': '/', '−': '-' };

/**
 * Parses whole numbers, `+ - * /` (also `× ÷ −`) and parentheses, by recursive descent: no
 * unary minus, no other syntax, and never `eval`. Throws SyntaxError naming what it could not read.
 */
export function parseExpression(text: string): Expression {
  const tokens = text.match(/\d+|[-+*/×÷−()]|\S/g) ?? [];
  let at = 0;
  const peek = () => tokens[at];
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at token ${at + 1} of "${text}"`);
  };
  const factor = (): Expression => {
    const token = tokens[at++];
    if (token === undefined) return fail('expected a number or "("');
    if (/^\d+$/.test(token)) return Number(token);
    if (token !== '(') return fail(`unexpected "${token}"`);
    const inner = sum();
    if (tokens[at++] !== ')') fail('expected ")"');
    return inner;
  };
  const chain = (ops: string, next: () => Expression) => (): Expression => {
    let left = next();
    while (peek() !== undefined && ops.includes(symbols[peek()!] ?? ' ')) {
      const op = symbols[tokens[at++]!]!;
      left = { op, left, right: next() };
    }
    return left;
  };
  const product = chain('*/', factor);
  const sum = chain('+-', product);
  const result = sum();
  if (at < tokens.length) fail(`unexpected "${tokens[at]}"`);
  return result;
}

/** The whole-number literals of an expression, left to right. */
export function literals(e: Expression): number[] {
  return typeof e === 'number' ? [e] : [...literals(e.left), ...literals(e.right)];
}
