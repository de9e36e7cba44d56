import { CadreError } from '../../src/core/index.js';
import type { EntityInput, Provenance, RelationInput } from '../graph-store.js';
import type { JsonPrimitive } from '../vector-store.js';

const leadingArticle = /^(?:the|a|an) (?=\S)/;

/**
 * The form names and aliases are resolved by: NFKC, lower case, separators as spaces, other
 * punctuation and symbols dropped, whitespace collapsed, a leading "the", "a" or "an" removed.
 */
export function normaliseName(name: string): string {
  const text = name
    .normalize('NFKC')
    .toLowerCase()
    // Separators split words ("New-York" = "new york"); other marks vanish ("U.S.A." = "usa").
    .replace(/[\p{Pd}/\\_]+/gu, ' ')
    .replace(/[\p{P}\p{S}]+/gu, '')
    .replace(/\s+/gu, ' ')
    .trim();
  return text.replace(leadingArticle, '');
}

const invalid = (message: string, details: Record<string, unknown> = {}) =>
  new CadreError('input_invalid', message, { details });

/** A finite time in ms, or `fallback` when absent; anything else is `input_invalid`. */
export function checkTime(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw invalid(`${field} must be a finite number of ms`, { [field]: value });
  return value;
}

/** A whole number of hops within [1, max]; anything else is `input_invalid`. */
export function checkHops(value: unknown, field: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(`${field} must be a whole number from 1 to ${max}`, { [field]: value });
  }
  return value;
}

/** A non-empty id string. */
export function checkId(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw invalid(`${field} must be a non-empty id`, { [field]: value });
  return value;
}

/** An entity input checked and normalised once, before any store touches it. */
/**
 * The names of `entity` not yet among `known` (normalised aliases), in order, once each; `known`
 * gains their normalised forms. Both graph stores merge aliases this way.
 */
export function newAliases(known: Set<string>, entity: { name: string; aliases: readonly string[] }): string[] {
  const added: string[] = [];
  for (const alias of [entity.name, ...entity.aliases]) {
    const norm = normaliseName(alias);
    if (known.has(norm)) continue;
    known.add(norm);
    added.push(alias);
  }
  return added;
}

export interface CheckedEntity {
  name: string;
  normName: string;
  type: string;
  /** Alias texts as given, and their normalised forms (without the name's own). */
  aliases: string[];
  embedding?: number[];
}

/** Checks an entity input: a name with something left after normalisation, a type, sane aliases and embedding. */
export function checkEntityInput(input: EntityInput, field = 'entity'): CheckedEntity {
  if (typeof input !== 'object' || input === null) throw invalid(`${field} must be an object`);
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  const normName = normaliseName(name);
  if (!normName) throw invalid(`${field}.name must not be empty`, { name: input.name });
  const type = typeof input.type === 'string' ? input.type.trim() : '';
  if (!type) throw invalid(`${field}.type must not be empty`, { type: input.type });
  if (
    input.aliases !== undefined &&
    (!Array.isArray(input.aliases) || input.aliases.some((a) => typeof a !== 'string'))
  ) {
    throw invalid(`${field}.aliases must be an array of strings`);
  }
  const aliases = (input.aliases ?? []).map((a) => a.trim()).filter((a) => normaliseName(a) !== '');
  const { embedding } = input;
  if (
    embedding !== undefined &&
    (!Array.isArray(embedding) || embedding.length === 0 || embedding.some((x) => !Number.isFinite(x)))
  ) {
    throw invalid(`${field}.embedding must be a non-empty array of finite numbers`);
  }
  return { name, normName, type, aliases: [...new Set(aliases)], ...(embedding ? { embedding } : {}) };
}

/** A relation input checked once: entities normalised, times and literal values finite. */
export interface CheckedRelation {
  subject: string | CheckedEntity;
  predicate: string;
  object?: string | CheckedEntity;
  /** The literal as JSON text, so stores compare and keep its exact type. */
  valueJson: string | null;
  validFrom: number;
  singleValued: boolean;
  provenance: Provenance;
}

const checkEnd = (end: string | EntityInput, field: string) =>
  typeof end === 'string' ? checkId(end, field) : checkEntityInput(end, field);

/** Checks a relation input; `now` is the default `validFrom`. */
export function checkRelationInput(input: RelationInput, now: number, field = 'relation'): CheckedRelation {
  if (typeof input !== 'object' || input === null) throw invalid(`${field} must be an object`);
  const predicate = typeof input.predicate === 'string' ? input.predicate.trim() : '';
  if (!predicate) throw invalid(`${field}.predicate must not be empty`, { predicate: input.predicate });
  if (input.object === undefined && input.value === undefined) throw invalid(`${field} needs an object or a value`);
  const value: JsonPrimitive | undefined = input.value;
  if (value !== undefined && value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
    throw invalid(`${field}.value must be a string, number, boolean or null`);
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw invalid(`${field}.value must be finite`, { value });
  const provenance = input.provenance ?? {};
  if (typeof provenance !== 'object' || provenance === null) throw invalid(`${field}.provenance must be an object`);
  return {
    subject: checkEnd(input.subject, `${field}.subject`),
    predicate,
    ...(input.object !== undefined ? { object: checkEnd(input.object, `${field}.object`) } : {}),
    valueJson: value === undefined ? null : JSON.stringify(value),
    validFrom: checkTime(input.validFrom, `${field}.validFrom`, now),
    singleValued: input.singleValued === true,
    provenance: { ...provenance },
  };
}
