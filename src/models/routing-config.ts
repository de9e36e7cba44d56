import { z } from 'zod';
import { CadreError } from '../core/index.js';

const capability = z.enum(['tools', 'json', 'vision']);
const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** Orders the candidates a rule leaves; the first matching rule with a `prefer` wins ties first. */
export const PreferSchema = z.union([
  z.enum(['strongest', 'cheapest', 'fastest', 'local', 'cloud']),
  z.object({ tags: z.array(z.string().min(1)).min(1) }).strict(),
  z.object({ models: z.array(z.string().min(1)).min(1) }).strict(),
]);

/**
 * One routing rule: when every condition in `when` holds, `require` filters the pool (hard) and
 * `prefer` orders what is left (soft). Rules are data; `RouterOptions.hook` is the escape hatch.
 */
export const RoutingRuleSchema = z
  .object({
    name: z.string().min(1).optional(),
    when: z
      .object({
        taskKind: oneOrMany.optional(),
        privacy: z.enum(['public', 'sensitive']).optional(),
        capabilities: z.array(capability).optional(),
        /** Estimated input tokens at least this many. */
        minTokens: z.number().int().nonnegative().optional(),
        /** Less than this fraction of the run's cost budget left (0-1). */
        budgetLeftBelow: z.number().min(0).max(1).optional(),
        /** The best local candidate has at least this many calls waiting. */
        localQueueAtLeast: z.number().int().positive().optional(),
      })
      .strict()
      .default({}),
    require: z
      .object({
        location: z.enum(['local', 'cloud']).optional(),
        tags: z.array(z.string().min(1)).min(1).optional(),
        models: z.array(z.string().min(1)).min(1).optional(),
      })
      .strict()
      .optional(),
    prefer: PreferSchema.optional(),
  })
  .strict();

/** One routing rule, as {@link RoutingRuleSchema} checks it. */
export type RoutingRule = z.output<typeof RoutingRuleSchema>;
/** How a rule orders the candidates it leaves, as {@link PreferSchema} checks it. */
export type Prefer = z.output<typeof PreferSchema>;

/** Built in after your own rules (unless `defaultRules: false`): strong models plan, small jobs go to the cheapest model. */
export const defaultRoutingRules: readonly RoutingRule[] = [
  { name: 'plan-with-the-strongest', when: { taskKind: ['plan', 'reflect'] }, prefer: 'strongest' },
  { name: 'small-jobs-cheapest', when: { taskKind: ['extract', 'summarise', 'classify'] }, prefer: 'cheapest' },
];

/** FrugalGPT-style: ask the models in order (cheapest first) and escalate when an answer fails `check`. */
export const CascadeSchema = z
  .object({
    models: z.array(z.string().min(1)).min(2),
    check: z.enum(['schema', 'self-check', 'evaluator']).default('self-check'),
  })
  .strict();

/** `routing` in cadre.config.json. */
export const RoutingConfigSchema = z
  .object({
    /** Checked in order; earlier rules' preferences weigh more. */
    rules: z.array(RoutingRuleSchema).default([]),
    /** Add the built-in rules after yours. */
    defaultRules: z.boolean().default(true),
    /** Calls waiting on a model before the router sends new work elsewhere (0: never spill). */
    spillQueueDepth: z.number().int().nonnegative().default(8),
    /** Below this fraction of the cost budget left, cheaper models go first. */
    downgradeBelow: z.number().min(0).max(1).default(0.25),
    /** Longest a model call may take before it counts as failed and falls back. */
    timeoutMs: z.number().int().positive().default(120_000),
    /** Consecutive failures that open a model's circuit breaker, and how long it stays open. */
    breaker: z
      .object({
        failures: z.number().int().positive().default(3),
        halfOpenAfterMs: z.number().int().positive().default(30_000),
      })
      .strict()
      .default({ failures: 3, halfOpenAfterMs: 30_000 }),
    /** Scan prompts for personal data and secrets, keeping such requests on local models. */
    detectPii: z.boolean().default(true),
    /** Output tokens assumed for a call with no `maxOutputTokens`, for budget estimates. */
    expectedOutputTokens: z.number().int().positive().default(1024),
    /** Cascades per task kind. */
    cascade: z.record(z.string(), CascadeSchema).default({}),
  })
  .strict();

/** `routing` from the config with defaults filled in, as {@link RoutingConfigSchema} checks it. */
export type RoutingConfig = z.output<typeof RoutingConfigSchema>;
/** `routing` as written in the config, before defaults are filled in. */
export type RoutingConfigInput = z.input<typeof RoutingConfigSchema>;

/** Checks `routing` from the config; `config_invalid` names every bad field. */
export function parseRoutingConfig(input: unknown = {}): RoutingConfig {
  const parsed = RoutingConfigSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const text = parsed.error.issues.map((i) => `routing.${i.path.join('.')}: ${i.message}`).join('; ');
  throw new CadreError('config_invalid', `Invalid routing config: ${text}`, {
    kind: 'user',
    details: { issues: parsed.error.issues },
  });
}
