import { z } from 'zod';
import { CadreError } from '../../src/core/index.js';

/** What every reasoning strategy takes: who it is, which model it prefers and how it reads answers. */
export interface StrategyOptions {
  /** The agent's name in events and results. Default: the strategy's own (`cot`, `self-consistency`, ...). */
  name?: string;
  role?: string;
  /** Preferred model as `provider:model`; the router decides whether it is available. */
  model?: string;
  /** The system prompt of its calls; each strategy has a default that asks for an `Answer:` line. */
  instructions?: string;
  /** Routing task kind of its reasoning calls. Default: the task's kind, else `reason`. */
  taskKind?: string;
  /** Reads the final answer out of a reply; default {@link extractAnswer}. Undefined means no answer. */
  extract?: (reply: string) => string | undefined;
}

/**
 * The text after the last `Answer:` (or `Final answer:`) line of a reply, e.g. `42` from
 * "6 times 7 is 42.\nAnswer: 42"; undefined when the reply has no such line.
 */
export function extractAnswer(reply: string): string | undefined {
  const lines = [...reply.matchAll(/^\s*\**\s*(?:final\s+)?answer\s*\**\s*[:：]\s*\**\s*(.+?)\s*$/gim)];
  const last = lines.at(-1)?.[1]?.replace(/\*+$/, '').trim();
  return last || undefined;
}

const common = {
  name: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'letters, digits, _ or -, at most 64')
    .optional(),
  role: z.string().min(1).optional(),
  model: z.string().min(3).optional(),
  instructions: z.string().min(1).optional(),
  taskKind: z.string().min(1).optional(),
  extract: z.custom<StrategyOptions['extract']>((v) => typeof v === 'function', 'must be a function').optional(),
};

/** A function-valued option, checked for being a function. */
export const fn = <T>() => z.custom<T>((v) => typeof v === 'function', 'must be a function');

/** A zod object of a strategy's own options plus the common ones. */
export const strategyShape = <T extends z.ZodRawShape>(own: T) => z.object({ ...common, ...own });

/**
 * Checks a strategy's options and returns them as given (functions keep their identity); throws
 * `input_invalid` naming each bad field.
 */
export function checkStrategyOptions<T extends object>(strategy: string, shape: z.ZodType, options: T | undefined): T {
  const parsed = shape.safeParse(options ?? {});
  if (parsed.success) return options ?? ({} as T);
  const text = parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ');
  throw new CadreError('input_invalid', `Invalid ${strategy} options: ${text}`);
}
