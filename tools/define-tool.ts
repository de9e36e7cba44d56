import type { z } from 'zod';
import { CadreError } from '../src/core/index.js';

/** What a tool may change in the world. `destructive` tools need approval unless policy allows. */
export type ToolEffects = 'read' | 'write' | 'destructive';

/**
 * Whether a call may run twice: `true` when running it again with the same arguments changes
 * nothing more; `'keyed'` when the tool deduplicates by `ToolContext.idempotencyKey` (as payment and
 * queue APIs do); `false` when a second run would repeat the effect.
 */
export type ToolIdempotency = boolean | 'keyed';

/** Handed to a tool's `run` for each call. */
export interface ToolContext {
  signal: AbortSignal;
  runId: string;
  taskId: string;
  /** The model's id for the call, unique within the task; pairs the result with the call. */
  callId: string;
  /**
   * Stable across retries, resumes and processes: derived from cadre's own identity of the call
   * (run, task attempt, step, position in the step). A `keyed` tool deduplicates by it. Always set
   * when cadre's ToolExecutor runs the tool; absent only when code calls `run` directly.
   */
  idempotencyKey?: string;
  /** The role of the agent making the call, when it has one: an MCP server with per-role roots answers it from the role's own instance. */
  role?: string | undefined;
}

/** A tool's arguments: a zod object, checked before `run` and sent to the model as JSON Schema. */
export type ToolInputSchema = z.ZodObject<z.ZodRawShape>;

/** A tool as cadre runs it: declared input, effects and limits, and the function itself. */
export interface Tool<I extends ToolInputSchema = ToolInputSchema> {
  readonly name: string;
  readonly description: string;
  readonly input: I;
  readonly effects: ToolEffects;
  /** Safe to run twice (see ToolIdempotency); only idempotent or keyed tools are retried or re-run on resume. */
  readonly idempotent: ToolIdempotency;
  /** Per call; default the agent's tool timeout. */
  readonly timeoutMs?: number;
  /** Does the work with checked arguments; returns a string or any JSON-serialisable value. */
  run(args: z.infer<I>, context: ToolContext): unknown;
}

/** What {@link defineTool} takes: a tool's name, description, input schema, effects and function. */
export interface ToolDefinition<I extends ToolInputSchema> {
  name: string;
  description: string;
  input: I;
  effects: ToolEffects;
  /** Default: true for `read` tools, false otherwise. */
  idempotent?: ToolIdempotency;
  /** Per call; default the agent's tool timeout. */
  timeoutMs?: number;
  /** Returns a string or any JSON-serialisable value. */
  run(args: z.infer<I>, context: ToolContext): unknown;
}

const namePattern = /^[a-zA-Z0-9_-]{1,64}$/;

/** Declares a tool; throws `input_invalid` for a bad name, effect or timeout. */
export function defineTool<I extends ToolInputSchema>(definition: ToolDefinition<I>): Tool<I> {
  if (!namePattern.test(definition.name)) {
    throw new CadreError(
      'input_invalid',
      `Tool name "${definition.name}" must match ${namePattern} (what model APIs accept)`,
    );
  }
  if (!['read', 'write', 'destructive'].includes(definition.effects)) {
    throw new CadreError('input_invalid', `Tool "${definition.name}": effects must be read, write or destructive`);
  }
  if (definition.idempotent !== undefined && ![true, false, 'keyed'].includes(definition.idempotent)) {
    throw new CadreError('input_invalid', `Tool "${definition.name}": idempotent must be true, false or 'keyed'`);
  }
  if (definition.timeoutMs !== undefined && !(definition.timeoutMs > 0)) {
    throw new CadreError('input_invalid', `Tool "${definition.name}": timeoutMs must be a positive number`);
  }
  if (!definition.description.trim()) {
    throw new CadreError('input_invalid', `Tool "${definition.name}" needs a description: it is what the model reads`);
  }
  return Object.freeze({
    name: definition.name,
    description: definition.description,
    input: definition.input,
    effects: definition.effects,
    idempotent: definition.idempotent ?? definition.effects === 'read',
    ...(definition.timeoutMs !== undefined ? { timeoutMs: definition.timeoutMs } : {}),
    run: definition.run,
  });
}
