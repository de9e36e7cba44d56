import type { Schemas } from '@qdrant/js-client-rest';
import { CadreError } from '../../src/core/index.js';
import { scopeLevels, type Scope } from '../scope.js';
import type { JsonPrimitive, VectorFilter } from '../vector-store.js';

type Condition = Schemas['Condition'];
export type QdrantFilter = Schemas['Filter'];

/** Payload keys the adapter owns; the caller's payload lives under `p`, so it can never collide. */
export const qdrantKeys = {
  id: '_id',
  text: '_text',
  payload: 'p',
  tenant: '_tenant',
  user: '_user',
  agent: '_agent',
  run: '_run',
} as const;

const invalid = (message: string, details: Record<string, unknown> = {}) =>
  new CadreError('input_invalid', message, { details });
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isPrimitive = (v: unknown): v is JsonPrimitive =>
  v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
// Qdrant reads `.` and `[` in a key as a path; only plain names are safe to put after `p.`.
const plainField = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The Qdrant filter that implements `isVisible` for a query made in `scope`: same tenant, and at each
 * other level the item's field is empty (shared) or the query's own value. A level the query does
 * not name admits only items with that field empty.
 */
export function scopeFilter(scope: Scope): QdrantFilter {
  const must: Condition[] = [{ key: qdrantKeys.tenant, match: { value: scope.tenant } }];
  for (const level of scopeLevels) {
    const key = qdrantKeys[level];
    const value = scope[level];
    must.push(
      value === undefined ? { is_empty: { key } } : { should: [{ is_empty: { key } }, { key, match: { value } }] },
    );
  }
  return { must };
}

function equals(key: string, value: JsonPrimitive): Condition {
  if (value === null) return { is_null: { key } };
  // `match` compares integers only; a fractional number needs a closed range to mean equality.
  if (typeof value === 'number' && !Number.isInteger(value)) return { key, range: { gte: value, lte: value } };
  return { key, match: { value } };
}

/**
 * Translates a VectorFilter into `must` conditions on `p.<field>`, validating it the way every
 * VectorStore does. Returns `null` when the filter can match nothing (an empty `in`).
 */
export function payloadConditions(filter: unknown): Condition[] | null {
  if (filter === undefined) return [];
  if (!isPlainObject(filter)) throw invalid('filter must be an object of field conditions');
  const conditions: Condition[] = [];
  let matchesNothing = false;
  for (const [field, cond] of Object.entries(filter)) {
    const bad = (why: string) => invalid(`filter.${field}: ${why}`, { filter });
    if (!plainField.test(field)) throw bad('the Qdrant store filters only on fields of letters, digits, _ and -');
    const key = `${qdrantKeys.payload}.${field}`;
    if (isPrimitive(cond)) {
      conditions.push(equals(key, cond));
      continue;
    }
    if (!isPlainObject(cond)) throw bad('must be a value, {in: [...]} or a numeric range');
    const keys = Object.keys(cond);
    if (keys.length === 1 && keys[0] === 'in') {
      const set = cond.in;
      if (!Array.isArray(set) || !set.every(isPrimitive))
        throw bad('`in` must be an array of strings, numbers, booleans or null');
      if (set.length === 0) matchesNothing = true;
      else if (set.every((v) => typeof v === 'string')) conditions.push({ key, match: { any: set } });
      else if (set.every((v) => typeof v === 'number' && Number.isInteger(v)))
        conditions.push({ key, match: { any: set as number[] } });
      else conditions.push({ should: set.map((v) => equals(key, v)) });
      continue;
    }
    const ops = ['gt', 'gte', 'lt', 'lte'] as const;
    if (keys.length === 0 || !keys.every((k) => (ops as readonly string[]).includes(k)))
      throw bad('a range takes only gt, gte, lt, lte');
    const range: Record<string, number> = {};
    for (const op of ops) {
      if (!(op in cond)) continue;
      const n = cond[op];
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad(`${op} must be a finite number`);
      range[op] = n;
    }
    conditions.push({ key, range });
  }
  return matchesNothing ? null : conditions;
}

/** Scope and payload conditions in one filter, or `null` when nothing can match. */
export function qdrantFilter(scope: Scope, filter?: VectorFilter): QdrantFilter | null {
  const payload = payloadConditions(filter);
  if (payload === null) return null;
  return { must: [...(scopeFilter(scope).must as Condition[]), ...payload] };
}
