import { z } from 'zod';
import { CadreError } from '../src/core/index.js';

const part = z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, '1-128 letters, digits or _ . : @ -');

/**
 * Who an item belongs to. `tenant` is required; `user`, `agent` and `run` narrow it. An item with a
 * level unset is shared at that level: {tenant: 'a'} is visible to every user of tenant a.
 */
export const ScopeSchema = z.strictObject({
  tenant: part,
  user: part.optional(),
  agent: part.optional(),
  run: part.optional(),
});
/** Who an item belongs to: a tenant, narrowed by user, agent and run (see {@link ScopeSchema}). */
export type Scope = z.infer<typeof ScopeSchema>;

/** The levels below the tenant, widest first. */
export const scopeLevels = ['user', 'agent', 'run'] as const;

/** Validates a scope; an unknown key, a missing tenant or a bad value is `input_invalid` naming it. */
export function checkScope(scope: unknown): Scope {
  const parsed = ScopeSchema.safeParse(scope);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'scope'}: ${i.message}`).join('; ');
  throw new CadreError('input_invalid', `Invalid scope: ${problems}`, { details: { scope } });
}

/**
 * Whether a query made in `query` may see an item stored in `item`: same tenant, and at every other
 * level the item is either shared (unset) or the query's own. A query that does not name a level
 * sees only items shared at that level, never another user's, agent's or run's private items.
 */
export function isVisible(item: Scope, query: Scope): boolean {
  if (item.tenant !== query.tenant) return false;
  return scopeLevels.every((level) => item[level] === undefined || item[level] === query[level]);
}
