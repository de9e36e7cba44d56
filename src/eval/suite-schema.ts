import { z } from 'zod';

/** What a checker decides about one answer, and why when it can say. */
export interface CheckOutcome {
  pass: boolean;
  reason?: string;
}

/** A checker written in code: given the final answer and its case, pass or fail (with a reason). */
export type CheckFunction = (
  answer: string,
  evalCase: EvalCase,
) => boolean | CheckOutcome | Promise<boolean | CheckOutcome>;

const regexCompiles = (value: { pattern: string; flags?: string | undefined }) => {
  try {
    new RegExp(value.pattern, value.flags);
    return true;
  } catch {
    return false;
  }
};

const jsonSchemaReadable = (schema: Record<string, unknown>) => {
  try {
    z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    return true;
  } catch {
    return false;
  }
};

/** The checkers a suite file may name; `function` is code only (see {@link CheckerSpec}). */
export const jsonCheckerSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('exact'),
    /** Default: the case's `expected`. */
    value: z.string().optional(),
    /** Compare without case and with runs of whitespace as one space. */
    normalize: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal('numeric'),
    value: z.number().optional(),
    /** Default 1e-6. */
    tolerance: z.number().nonnegative().optional(),
    /** `relative`: the tolerance is a fraction of the expected value; default `absolute`. */
    mode: z.enum(['absolute', 'relative']).optional(),
  }),
  z
    .strictObject({
      type: z.literal('json-schema'),
      schema: z.record(z.string(), z.unknown()),
    })
    .refine((c) => jsonSchemaReadable(c.schema), { message: 'not a JSON Schema zod can read', path: ['schema'] }),
  z
    .strictObject({
      type: z.literal('regex'),
      pattern: z.string().min(1),
      flags: z
        .string()
        .regex(/^[dgimsuvy]*$/, 'flags are letters of dgimsuvy')
        .optional(),
    })
    .refine(regexCompiles, { message: 'not a valid regular expression', path: ['pattern'] }),
  z.strictObject({
    type: z.literal('llm-judge'),
    /** What a passing answer does, in words the judge model reads. */
    rubric: z.string().min(1),
    /** The judge model the router should prefer, as `provider:model`. */
    model: z.string().min(3).optional(),
  }),
  z.strictObject({
    type: z.literal('game24'),
    numbers: z.array(z.number().int().min(1).max(13)).length(4, 'the Game of 24 uses four numbers'),
  }),
  z.strictObject({
    type: z.literal('function'),
    check: z.custom<CheckFunction>((v) => typeof v === 'function', {
      message: 'a function checker is written in code (defineSuite from cadre/eval), not in a suite file',
    }),
  }),
]);

/** One checker: `exact`, `numeric`, `json-schema`, `regex`, `llm-judge`, `game24`, or `function` (in code). */
export type CheckerSpec = z.infer<typeof jsonCheckerSchema>;

/** One case: the input the agent gets, and what its answer must be (`expected`, a `check`, or both). */
export const caseSchema = z.strictObject({
  id: z.string().regex(/^[\w.-]{1,64}$/, '1-64 letters, digits, _ . or -'),
  input: z.string().min(1),
  expected: z.union([z.string(), z.number()]).optional(),
  check: jsonCheckerSchema.optional(),
  /** Built-in tools the agent may use for this case (by name); default none. */
  tools: z.array(z.string().min(1)).optional(),
});

/** One case of a suite. */
export type EvalCase = z.infer<typeof caseSchema>;

/** The offline models a suite can name (see `offlineRouter`). */
export const simulators = ['game24', 'oracle', 'tool-script'] as const;

/** A suite: its name and cases, and the offline model it is meant for. */
export const suiteSchema = z
  .strictObject({
    name: z.string().regex(/^[\w.-]{1,64}$/, '1-64 letters, digits, _ . or -'),
    description: z.string().optional(),
    /** The model that answers offline: `game24`, `oracle` (default) or `tool-script`. */
    simulator: z.enum(simulators).optional(),
    /** The folder file tools work in, relative to the suite file. */
    workspace: z.string().min(1).optional(),
    cases: z.array(caseSchema).min(1, 'a suite needs at least one case'),
  })
  .superRefine((suite, ctx) => {
    const seen = new Set<string>();
    suite.cases.forEach((c, i) => {
      if (seen.has(c.id))
        ctx.addIssue({ code: 'custom', path: ['cases', i, 'id'], message: `"${c.id}" is used twice` });
      seen.add(c.id);
      const type = c.check?.type;
      const needsExpected =
        type === undefined || ((type === 'exact' || type === 'numeric') && c.check?.value === undefined);
      if (needsExpected && c.expected === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['cases', i, type ? 'check' : 'expected'],
          message: type
            ? `an ${type} check needs \`value\` or the case's \`expected\``
            : 'a case needs `expected` or a `check`',
        });
      if (type === 'numeric' && c.check?.value === undefined && !Number.isFinite(Number(c.expected)))
        ctx.addIssue({ code: 'custom', path: ['cases', i, 'expected'], message: 'a numeric check needs a number' });
    });
  });

/** A checked suite, as `loadSuite` and `defineSuite` return it. */
export type EvalSuite = z.infer<typeof suiteSchema>;
