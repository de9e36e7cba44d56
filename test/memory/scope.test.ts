import { describe, expect, it } from 'vitest';
import { isVisible, type Scope } from 'cadre/memory';
import { allScopes, mayRead } from '../fixtures/scope-rule.js';

const scopes = allScopes({
  tenant: ['a', 'b'],
  user: [undefined, 'u1', 'u2'],
  agent: [undefined, 'g1', 'g2'],
  run: [undefined, 'r1', 'r2'],
});

describe('memory scopes', () => {
  it('reads the documented rule in the worked examples', () => {
    const ana: Scope = { tenant: 'acme', user: 'ana' };
    expect(mayRead(ana, { tenant: 'acme' })).toBe(true);
    expect(mayRead(ana, { tenant: 'acme', user: 'ana' })).toBe(true);
    expect(mayRead(ana, { tenant: 'acme', user: 'bob' })).toBe(false);
    expect(mayRead(ana, { tenant: 'acme', user: 'ana', run: 'r1' })).toBe(false);
    expect(mayRead(ana, { tenant: 'other' })).toBe(false);
    expect(mayRead({ tenant: 'acme' }, ana)).toBe(false);
  });

  it('isVisible agrees with the documented rule for every pair of item and query scopes', () => {
    let visible = 0;
    for (const query of scopes) {
      for (const item of scopes) {
        const expected = mayRead(query, item);
        expect(isVisible(item, query), `${JSON.stringify(item)} seen from ${JSON.stringify(query)}`).toBe(expected);
        if (expected) visible += 1;
      }
    }
    // Each query sees 2^(levels it names) scopes: (1 + 2·2)^3 = 125 pairs per tenant.
    expect(visible).toBe(2 * 125);
  });
});
