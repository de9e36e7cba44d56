import { describe, expect, it } from 'vitest';
import { calculate } from '../../tools/builtin/calculator.js';

describe('calculator', () => {
  it('follows precedence, parentheses and functions', async () => {
    expect(await calculate('2 + 3 * 4')).toBe('14');
    expect(await calculate('(2 + 3) * 4')).toBe('20');
    expect(await calculate('(17 * 23) + sqrt(1764)')).toBe('433');
    expect(await calculate('2^10 / 4')).toBe('256');
  });

  it('writes large and small results in plain digits, as people read them', async () => {
    expect(await calculate('1234 * 5678')).toBe('7006652');
    expect(await calculate('12 * 10^12')).toBe('12000000000000');
    expect(await calculate('1 / 8000')).toBe('0.000125');
  });

  it.each([
    'import({}, {override: true})',
    'evaluate("1+1")',
    'x = 1',
    'f(x) = x',
    'parse("1")',
    'createUnit("foo")',
    '1; 2',
    'sqrt',
  ])('refuses %s', async (expression) => {
    await expect(calculate(expression)).rejects.toMatchObject({ code: 'input_invalid' });
  });

  it('reports a syntax error as bad input', async () => {
    await expect(calculate('2 +* 3')).rejects.toMatchObject({ code: 'input_invalid' });
  });
});
