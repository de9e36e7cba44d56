import { readFile } from 'node:fs/promises';
import { CadreError } from '../core/index.js';
import { suiteSchema, type EvalSuite } from './suite-schema.js';

/** `cases.3.check.tolerance` as a reader writes it: `cases[3].check.tolerance`. */
const fieldOf = (path: readonly PropertyKey[]) =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || '(suite)';

/**
 * Checks a suite given as a value (parsed JSON, or an object in code); throws `input_invalid`
 * naming the first bad field and the case it is in (`details.field`, `details.case`).
 */
export function parseSuite(value: unknown, source = 'the suite'): EvalSuite {
  const parsed = suiteSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = fieldOf(issue.path);
  const index = issue.path[0] === 'cases' && typeof issue.path[1] === 'number' ? issue.path[1] : undefined;
  const caseId = index === undefined ? undefined : (value as { cases?: Array<{ id?: unknown }> }).cases?.[index]?.id;
  const where = typeof caseId === 'string' ? `${field} (case "${caseId}")` : field;
  const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
  throw new CadreError('input_invalid', `Invalid suite ${source}: ${where}: ${issue.message}${more}`, {
    details: { field, ...(typeof caseId === 'string' ? { case: caseId } : {}), source },
  });
}

/** Checks a suite written in code, where cases may also use `{ type: 'function', check }` checkers. */
export function defineSuite(suite: EvalSuite): EvalSuite {
  return parseSuite(suite, `"${String((suite as { name?: unknown }).name ?? '')}"`);
}

/** Reads and checks a suite file (JSON); throws `input_invalid` for a missing file, bad JSON or a bad field. */
export async function loadSuite(path: string): Promise<EvalSuite> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CadreError('input_invalid', `Cannot read the suite ${path}: ${(error as Error).message}`, {
      cause: error,
      details: { source: path },
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CadreError('input_invalid', `The suite ${path} is not JSON: ${(error as Error).message}`, {
      cause: error,
      details: { source: path },
    });
  }
  return parseSuite(value, path);
}
