import { closest, distance } from 'fastest-levenshtein';
import { CadreError, type ErrorCode } from './errors.js';

/** The known name `key` most likely meant: the same letters in another case, or one a few edits away. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const sameLetters = known.find((k) => k.toLowerCase() === key.toLowerCase());
  if (sameLetters) return sameLetters;
  if (known.length === 0) return undefined;
  const near = closest(key, known as string[]);
  return distance(key, near) <= Math.max(2, Math.floor(key.length / 4)) ? near : undefined;
}

/**
 * Throws `code` naming the first key of `value` that is not in `known`, with a "did you mean" when
 * one is close; `hint` may say more about a key (e.g. that it belongs in `config`).
 */
export function rejectUnknownKeys(
  value: object,
  known: readonly string[],
  where: string,
  code: ErrorCode,
  hint?: (key: string) => string | undefined,
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const more = hint?.(key);
    const suggestion = more ? undefined : suggestKey(key, known);
    const tail = more ?? (suggestion ? `; did you mean "${suggestion}"?` : `; known: ${known.join(', ')}`);
    throw new CadreError(code, `Unknown ${where} "${key}"${tail}`, {
      details: { key, ...(suggestion ? { suggestion } : {}) },
    });
  }
}
