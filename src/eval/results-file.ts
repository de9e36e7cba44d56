import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { CadreError } from '../core/index.js';
import type { EvalResults } from './eval-results.js';

// What a comparison reads from an earlier results file; the rest is kept for people and tools.
const resultsShape = z.looseObject({
  version: z.literal(1),
  suite: z.looseObject({ name: z.string() }),
  cases: z.array(
    z.looseObject({
      id: z.string(),
      status: z.enum(['passed', 'failed', 'error', 'skipped']),
      reason: z.string().optional(),
    }),
  ),
});

/** Writes results as JSON (creating the folder); returns the path. */
export async function writeResults(path: string, results: EvalResults): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
  return path;
}

/** Reads an earlier results file for `--compare`; throws `input_invalid` naming the bad field. */
export async function readResults(path: string): Promise<EvalResults> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CadreError('input_invalid', `Cannot read the results ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const parsed = resultsShape.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CadreError(
      'input_invalid',
      `${path} is not a cadre eval results file: ${issue.path.join('.')}: ${issue.message}`,
      {
        details: { field: issue.path.join('.') },
      },
    );
  }
  return value as EvalResults;
}
