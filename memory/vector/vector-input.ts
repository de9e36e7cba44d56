import { CadreError } from '../../src/core/index.js';
import { checkScope, scopeLevels, type Scope } from '../scope.js';
import type { JsonValue } from '../vector-store.js';

/** Limits on what one item may hold. */
export const maxPayloadBytes = 64 * 1024;
export const maxIdLength = 256;

/** An item checked and ready to store: a unit vector and its payload as JSON. */
export interface Prepared {
  id: string;
  scope: Scope;
  vector: Float32Array;
  payload: string;
  text: string | null;
}
export type Predicate = (payload: Record<string, JsonValue>) => boolean;

export const invalid = (message: string, details: Record<string, unknown> = {}) =>
  new CadreError('input_invalid', message, { details });
export const scopeOf = (r: {
  tenant: string;
  user: string | null;
  agent: string | null;
  run: string | null;
}): Scope => ({
  tenant: r.tenant,
  ...(r.user !== null ? { user: r.user } : {}),
  ...(r.agent !== null ? { agent: r.agent } : {}),
  ...(r.run !== null ? { run: r.run } : {}),
});
export const sameScope = (a: Scope, b: Scope) => a.tenant === b.tenant && scopeLevels.every((l) => a[l] === b[l]);
export const rowColumns = 'key, id, tenant, "user", agent, run, payload, text';
export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a vector and returns it scaled to unit length, so cosine is a dot product. */
export function unitVector(vector: unknown, dimensions: number, what: string): Float32Array {
  if (!Array.isArray(vector) && !ArrayBuffer.isView(vector))
    throw invalid(`${what}: vector must be an array of numbers`);
  const v = vector as ArrayLike<unknown>;
  if (v.length !== dimensions) throw invalid(`${what}: vector has ${v.length} dimensions, the store has ${dimensions}`);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw invalid(`${what}: vector[${i}] is not a finite number`);
    norm += x * x;
  }
  if (norm === 0) throw invalid(`${what}: vector is all zeros, which has no direction for cosine`);
  const scale = 1 / Math.sqrt(norm);
  const out = new Float32Array(dimensions);
  for (let i = 0; i < dimensions; i++) out[i] = (v[i] as number) * scale;
  return out;
}

/** Turns a filter into a predicate on payloads (none for no filter), or throws `input_invalid` naming the bad field. */
export function compileFilter(filter: unknown): Predicate | undefined {
  if (filter === undefined) return undefined;
  if (!isPlainObject(filter)) throw invalid('filter must be an object of field conditions');
  const isPrimitive = (v: unknown) =>
    v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
  const tests = Object.entries(filter).map(([field, cond]): Predicate => {
    const bad = (why: string) => invalid(`filter.${field}: ${why}`, { filter });
    if (isPrimitive(cond)) return (p) => p[field] === cond;
    if (!isPlainObject(cond)) throw bad('must be a value, {in: [...]} or a numeric range');
    const keys = Object.keys(cond);
    if (keys.length === 1 && keys[0] === 'in') {
      const set = cond.in;
      if (!Array.isArray(set) || !set.every(isPrimitive))
        throw bad('`in` must be an array of strings, numbers, booleans or null');
      return (p) => field in p && set.includes(p[field]);
    }
    const ops = ['gt', 'gte', 'lt', 'lte'] as const;
    if (keys.length === 0 || !keys.every((k) => (ops as readonly string[]).includes(k)))
      throw bad('a range takes only gt, gte, lt, lte');
    const bounds = ops.filter((op) => op in cond).map((op) => [op, cond[op]] as const);
    for (const [op, n] of bounds)
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad(`${op} must be a finite number`);
    return (p) => {
      const x = p[field];
      if (typeof x !== 'number') return false;
      return bounds.every(([op, n]) =>
        op === 'gt'
          ? x > (n as number)
          : op === 'gte'
            ? x >= (n as number)
            : op === 'lt'
              ? x < (n as number)
              : x <= (n as number),
      );
    };
  });
  return (p) => tests.every((t) => t(p));
}

/** Validates one item into the row it will be stored as; throws `input_invalid` naming the item. */
export function prepareItem(item: unknown, index: number, dimensions: number): Prepared {
  if (!isPlainObject(item)) throw invalid(`items[${index}] must be an object`);
  const { id } = item;
  if (typeof id !== 'string' || id.length === 0 || id.length > maxIdLength)
    throw invalid(`items[${index}]: id must be a string of 1-${maxIdLength} characters`, { id });
  const what = `Item "${id}"`;
  let scope: Scope;
  try {
    scope = checkScope(item.scope);
  } catch (error) {
    throw invalid(`${what}: ${(error as Error).message}`, { id });
  }
  const vector = unitVector(item.vector, dimensions, what);
  if (item.payload !== undefined && !isPlainObject(item.payload))
    throw invalid(`${what}: payload must be a JSON object`, { id });
  let payload: string;
  try {
    payload = JSON.stringify(item.payload ?? {});
  } catch (error) {
    throw invalid(`${what}: payload is not JSON (${(error as Error).message})`, { id });
  }
  const bytes = Buffer.byteLength(payload);
  if (bytes > maxPayloadBytes)
    throw invalid(`${what}: payload is ${bytes} bytes of JSON, the limit is ${maxPayloadBytes}`, { id });
  if (item.text !== undefined && typeof item.text !== 'string') throw invalid(`${what}: text must be a string`, { id });
  return { id, scope, vector, payload, text: item.text ?? null };
}
