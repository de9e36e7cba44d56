import { describe, expect, it } from 'vitest';
import { CadreError } from 'cadre';

describe('CadreError', () => {
  it('recognises an error from another copy of the package by its marker, not instanceof', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('cadre.error')]: true, code: 'internal' });
    expect(CadreError.isInstance(foreign)).toBe(true);
    expect(CadreError.isInstance(new Error('plain'))).toBe(false);
    expect(CadreError.isInstance(null)).toBe(false);
  });

  it('classifies codes the caller can fix as user errors and the rest as system errors', () => {
    expect(new CadreError('config_invalid', 'bad').kind).toBe('user');
    expect(new CadreError('provider_error', 'down').kind).toBe('system');
    expect(new CadreError('provider_error', 'x', { kind: 'user' }).kind).toBe('user');
  });

  it('wraps foreign errors and keeps the cause', () => {
    const cause = new TypeError('boom');
    const wrapped = CadreError.from(cause, 'model_failed');
    expect(wrapped.code).toBe('model_failed');
    expect(wrapped.cause).toBe(cause);
    expect(CadreError.from(wrapped)).toBe(wrapped);
  });
});
