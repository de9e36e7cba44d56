import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import {
  CadreError,
  callDigest,
  journalMismatch,
  cancelledError,
  idempotencyKeyOf,
  type ErrorInfo,
  type RunEventStream,
  type ToolCallJournal,
  type ToolCallKey,
  type ToolCallOutcome,
} from '../src/core/index.js';
import { afterFailure } from '../src/core/after-failure.js';
import type { Tool } from './define-tool.js';
import { stringify } from './langchain.js';
import { endsWithCall } from './mcp/follow-signal.js';
import { isApprovalPending } from './policy/approvals.js';
import { admitCall, authorizeCall, type Refusal, type ToolGuards } from './policy/call-gate.js';
import { jsonSchemaArgIssues } from './policy/json-schema-args.js';
import { delimitUntrusted } from './policy/untrusted.js';
import { StructuredOutput } from './structured-output.js';
import { ToolRegistry } from './tool-registry.js';

/** Policy, approval, pinning, rate limits and audit apply when given; per-call context overrides these. */
/** The executor's tools and guards, and its limits for every call. */
export interface ToolExecutorOptions extends ToolGuards {
  tools: readonly Tool[] | ToolRegistry;
  /** Per-call limit when the tool sets none. Default 30 s. */
  timeoutMs?: number;
  /** Longest output passed on; the rest is cut with a visible marker. Default 16,000 characters. */
  outputMaxChars?: number;
  /** Extra attempts for idempotent and keyed tools on system errors. Default 2. */
  retries?: number;
  /**
   * Wrap successful output in `<tool_output untrusted="true">` delimiters (see `delimitUntrusted`).
   * Default false for now, because existing transcripts and tests compare raw output.
   */
  delimitOutput?: boolean;
}

/** A tool call as the model asked for it: its id, the tool's name and the arguments, not yet checked. */
export interface ToolCallRequest {
  /** The model's id for the call. */
  id: string;
  name: string;
  args: unknown;
}

/** Where a call comes from (run, task, step) and what to record it in; its guards override the executor's. */
export interface ExecuteContext extends ToolGuards {
  runId: string;
  taskId: string;
  /** The agent's step that made the call, for events. */
  step: number;
  signal?: AbortSignal;
  events?: RunEventStream;
  /** When given, calls with effects are recorded before and after, and never silently repeated. */
  journal?: ToolCallJournal;
  /** The journal's task key when it differs from `taskId` (a retried attempt). */
  journalKey?: string;
  /**
   * cadre's identity of the call within the journal's task key — its position, `<step>.<n>`. The
   * journal is keyed by it, not by the model's call id, which models reuse. Default: the call's id.
   */
  callKey?: string;
  /** An idempotency key the caller already has (e.g. an MCP client's); default: derived from the call's identity. */
  idempotencyKey?: string;
  /** Which attempt at the task makes the call (1 for the first), for approval requests. */
  attempt?: number;
}

/**
 * What came of one call. Failures are data (the model sees them); only cancellation, a pending
 * approval (`isApprovalPending`) and a journal that disagrees with the call (`journal_mismatch`) throw.
 */
export interface ToolOutcome {
  callId: string;
  tool: string;
  ok: boolean;
  output: string;
  error?: ErrorInfo;
  /** Whether the output was cut to the output limit. */
  truncated: boolean;
  /** Times the tool ran; 0 when the result was replayed. */
  attempts: number;
  durationMs: number;
  /** True when the result came from the tool-call journal instead of running the tool. */
  replayed?: boolean;
  /** The value a tool returned as a `StructuredOutput` (e.g. an MCP tool's checked `structuredContent`); not journaled. */
  structured?: unknown;
}

/**
 * Runs tool calls safely: validates arguments against the tool's schema, enforces the timeout,
 * retries only idempotent tools, caps output, journals calls that change things, and emits one
 * `tool.called` and one `tool.result` event per call.
 */
export class ToolExecutor {
  private readonly registry: ToolRegistry;
  private readonly timeoutMs: number;
  private readonly outputMaxChars: number;
  private readonly retries: number;
  private readonly guards: ToolGuards;
  private readonly delimitOutput: boolean;

  constructor(options: ToolExecutorOptions) {
    const { policy, approve, audit, pins, rateLimiter, agent, role } = options;
    this.guards = definedOnly({ policy, approve, audit, pins, rateLimiter, agent, role });
    this.registry = options.tools instanceof ToolRegistry ? options.tools : new ToolRegistry(options.tools);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.outputMaxChars = options.outputMaxChars ?? 16_000;
    this.retries = options.retries ?? 2;
    this.delimitOutput = options.delimitOutput ?? false;
  }

  /** The tools this executor runs. */
  get tools(): Tool[] {
    return this.registry.list();
  }

  /**
   * Runs one call; resolves with its outcome, rejects only with `cancelled`, a pending approval or
   * `journal_mismatch`. A pending approval is not audited: the call is decided when it is asked again
   * (a journaled call that was running is recorded as waiting, so that it runs again then).
   */
  async execute(call: ToolCallRequest, ctx: ExecuteContext): Promise<ToolOutcome> {
    const started = performance.now();
    const tool = this.registry.get(call.name);
    const args = isRecord(call.args) ? call.args : {};
    ctx.events?.emit({
      type: 'tool.called',
      taskId: ctx.taskId,
      step: ctx.step,
      callId: call.id,
      tool: call.name,
      args,
      effects: tool?.effects ?? 'unknown',
      replayed: false,
    });
    const guards = hasGuards(ctx) ? withContextGuards(this.guards, ctx) : this.guards;
    const audited = await this.attempt(tool, call, args, ctx, guards);
    const result = outcomeOf(audited, call, performance.now() - started);
    const { decision, size } = audited;
    if (tool && decision) {
      guards.audit?.record({
        runId: ctx.runId,
        taskId: ctx.taskId,
        ...(guards.agent !== undefined ? { agent: guards.agent } : {}),
        tool: call.name,
        args,
        decision,
        durationMs: result.durationMs,
        ...(size !== undefined ? { resultSize: size } : {}),
        ...(result.error ? { error: result.output } : {}),
      });
    }
    ctx.events?.emit({
      type: 'tool.result',
      taskId: ctx.taskId,
      step: ctx.step,
      callId: call.id,
      tool: call.name,
      ok: result.ok,
      output: result.output,
      ...(result.error ? { error: result.error } : {}),
      truncated: result.truncated,
      attempts: result.attempts,
      durationMs: result.durationMs,
      replayed: result.replayed ?? false,
    });
    return result;
  }

  private async attempt(
    tool: Tool | undefined,
    call: ToolCallRequest,
    args: Record<string, unknown>,
    ctx: ExecuteContext,
    guards: ToolGuards,
  ): Promise<Audited> {
    if (!tool) {
      const known = this.registry.names().join(', ') || 'none';
      return failure(new CadreError('tool_not_found', `No tool named "${call.name}". Available tools: ${known}`), 0);
    }
    // Refusals come back as results the model reads; the tool never runs and the run goes on.
    const admitted = admitCall(tool, guards);
    if (admitted) return refusal(admitted);
    const parsed = tool.input.safeParse(call.args ?? {});
    const fields = parsed.success
      ? jsonSchemaArgIssues(tool, call.args ?? {})
      : parsed.error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ');
    if (!parsed.success || fields !== undefined) {
      return {
        ...failure(new CadreError('tool_args_invalid', `Invalid arguments for ${tool.name}: ${fields}`), 0),
        decision: 'allowed',
      };
    }
    const key = { runId: ctx.runId, taskId: ctx.journalKey ?? ctx.taskId, callId: ctx.callKey ?? call.id };
    const journaled = tool.effects !== 'read' && ctx.journal !== undefined;
    const digest = journaled ? callDigest(tool.name, call.args) : '';
    if (journaled) {
      const previous = await ctx.journal!.get(key);
      // The same position asked for a different call: the journal is not this run's history.
      if (previous && (previous.tool !== tool.name || (previous.digest !== undefined && previous.digest !== digest))) {
        throw journalMismatch(key, previous.tool, tool.name);
      }
      if (previous?.state === 'completed' && previous.outcome && !stoppedForAnswer(previous.outcome)) {
        return { ...previous.outcome, truncated: false, attempts: 0, replayed: true, decision: 'allowed' };
      }
      if (previous?.state === 'started' && tool.idempotent === false) {
        return {
          ...failure(
            new CadreError(
              'tool_outcome_unknown',
              `${tool.name} was started before an interruption and may or may not have taken effect; it was not repeated. Check its effect before calling it again.`,
            ),
            0,
          ),
          decision: 'allowed',
        };
      }
    }
    // After the journal: a call already recorded is replayed, not re-approved or charged again.
    const info = {
      args,
      runId: ctx.runId,
      taskId: ctx.taskId,
      callId: call.id,
      ...(ctx.attempt !== undefined ? { attempt: ctx.attempt } : {}),
    };
    const authorized = await authorizeCall(tool, info, guards);
    if (authorized) return refusal(authorized);
    if (journaled) await ctx.journal!.begin({ ...key, tool: tool.name, args, digest });
    const outcome = await this.runWithPolicy(tool, parsed.data, { callId: call.id, key, role: guards.role }, ctx).catch(
      async (error: unknown) => {
        // The call stopped to wait for a person's answer (its MCP server asked a question): left
        // `started`, the resumed run would report its outcome unknown, so it is recorded as waiting.
        if (journaled && isApprovalPending(error)) await ctx.journal!.complete(key, waitingForAnswer);
        throw error;
      },
    );
    if (journaled)
      await ctx.journal!.complete(key, {
        ok: outcome.ok,
        output: outcome.output,
        ...(outcome.error ? { error: outcome.error } : {}),
      });
    // The attempt is this call's own object: marked in place rather than copied.
    const audited: Audited = outcome;
    audited.decision = 'allowed';
    return audited;
  }

  private async runWithPolicy(
    tool: Tool,
    args: unknown,
    ids: CallIds,
    ctx: ExecuteContext,
  ): Promise<Attempt & { size?: number }> {
    let attempts = 0;
    const once = () => {
      attempts += 1;
      return this.runOnce(tool, args, ids, ctx);
    };
    try {
      // Only idempotent and keyed tools are retried (a keyed one with the same key). The first
      // attempt runs plainly; the retry policy takes over after it fails, with that failure as its first.
      let value: unknown;
      try {
        value = await once();
      } catch (error) {
        if (tool.idempotent === false || this.retries <= 1 || ctx.signal?.aborted) throw error;
        value = await this.retryPolicy().execute(afterFailure(error, once), ctx.signal);
      }
      const text = stringify(value);
      const truncated = text.length > this.outputMaxChars;
      const output = truncated
        ? `${text.slice(0, this.outputMaxChars)}\n…[truncated: ${text.length - this.outputMaxChars} more characters]`
        : text;
      // Marked as data so the model does not take instructions planted in tool output as ours.
      return {
        ok: true,
        output: this.delimitOutput ? delimitUntrusted(tool.name, output) : output,
        truncated,
        attempts,
        size: text.length,
        ...(StructuredOutput.isInstance(value) ? { structured: value.structured } : {}),
      };
    } catch (error) {
      if (ctx.signal?.aborted) throw cancelledError(ctx.signal);
      // A tool that runs an agent (delegation) can reach an approval that is still to be decided.
      if (isApprovalPending(error)) throw error;
      return failure(CadreError.from(error, 'tool_failed'), attempts);
    }
  }

  // Built once per executor: a cockatiel policy keeps no state between executions.
  private cachedRetryPolicy: ReturnType<typeof retry> | undefined;
  private retryPolicy() {
    const retryable = (e: unknown) =>
      !isApprovalPending(e) && !(CadreError.isInstance(e) && (e.kind === 'user' || e.code === 'cancelled'));
    return (this.cachedRetryPolicy ??= retry(handleWhen(retryable), {
      maxAttempts: this.retries,
      backoff: new ExponentialBackoff({ initialDelay: 20, maxDelay: 500 }),
    }));
  }

  /**
   * One run of the tool under its timeout and the caller's signal. The tool gets a signal of its
   * own, aborted on either, made when the tool first reads it (most tools never do); one listener
   * and one timer, both removed when the call settles. Nothing keeps that signal after the call, so
   * the MCP client may hand it to the SDK as it is.
   */
  private runOnce(tool: Tool, args: unknown, { callId, key, role }: CallIds, ctx: ExecuteContext): Promise<unknown> {
    const limit = tool.timeoutMs ?? this.timeoutMs;
    const outer = ctx.signal;
    if (outer?.aborted) return Promise.reject(cancelledError(outer));
    const own = new CallSignal();
    let idempotencyKey: string | undefined;
    return new Promise<unknown>((resolve, reject) => {
      const settle = (finish: () => void) => {
        clearTimeout(timer);
        outer?.removeEventListener('abort', onAbort);
        finish();
      };
      const onAbort = () =>
        settle(() => {
          own.abort(outer!.reason);
          reject(cancelledError(outer!));
        });
      const timer = setTimeout(
        () =>
          settle(() => {
            const error = new CadreError('timeout', `${tool.name} took longer than ${limit} ms`);
            own.abort(error);
            reject(error);
          }),
        limit,
      );
      outer?.addEventListener('abort', onAbort, { once: true });
      let running: unknown;
      try {
        running = tool.run(args as never, {
          get signal() {
            return own.signal;
          },
          runId: ctx.runId,
          taskId: ctx.taskId,
          callId,
          role,
          // A hash per call: computed only for the tools that read it, once.
          get idempotencyKey() {
            return (idempotencyKey ??= ctx.idempotencyKey ?? idempotencyKeyOf(key));
          },
        });
      } catch (error) {
        running = Promise.reject(error);
      }
      Promise.resolve(running).then(
        (value) => settle(() => resolve(value)),
        (error: unknown) => settle(() => reject(error)),
      );
    });
  }
}

/**
 * The signal of one tool call, made on first read: an `AbortController` costs more than most tools'
 * whole run. Aborted before it was read, it is made already aborted, with the same reason.
 */
class CallSignal {
  private controller: AbortController | undefined;
  private reason: { value: unknown } | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      endsWithCall(this.controller.signal);
      if (this.reason) this.controller.abort(this.reason.value);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    this.reason ??= { value: reason };
    this.controller?.abort(reason);
  }
}

/** The model's id of a call (for pairing) and its identity, from which a keyed tool's key is made. */
/** A call's ids, and the role of the agent making it (a tool may act for the role). */
type CallIds = { callId: string; key: ToolCallKey; role?: string | undefined };
type Attempt = Omit<ToolOutcome, 'callId' | 'tool' | 'durationMs'>;
/** An attempt with what the audit log needs: the policy decision and the output's size. */
type Audited = Attempt & { decision?: Refusal['decision']; size?: number };

/**
 * The journal's record of a call that stopped for an answer still to come: its server was told the
 * question was cancelled, so the call ended without what it asked for. It is not replayed but run
 * again, and answered this time.
 */
const waitingForAnswer: ToolCallOutcome = {
  ok: false,
  output: 'Error (elicitation_pending): stopped for an answer from the user; runs again once answered',
  error: { code: 'elicitation_pending', kind: 'user', message: 'stopped for an answer from the user' },
};
const stoppedForAnswer = (outcome: ToolCallOutcome) => outcome.error?.code === 'elicitation_pending';

/**
 * The caller's outcome of an attempt: the call's ids and duration added, what only the audit log
 * needs left out. Field by field, as it runs for every call: a rest-and-spread costs microseconds.
 */
function outcomeOf(attempt: Audited, call: ToolCallRequest, durationMs: number): ToolOutcome {
  const outcome: ToolOutcome = {
    ok: attempt.ok,
    output: attempt.output,
    truncated: attempt.truncated,
    attempts: attempt.attempts,
    callId: call.id,
    tool: call.name,
    durationMs,
  };
  if ('error' in attempt) outcome.error = attempt.error;
  if ('replayed' in attempt) outcome.replayed = attempt.replayed;
  if ('structured' in attempt) outcome.structured = attempt.structured;
  return outcome;
}

function refusal({ error, decision }: Refusal): Audited {
  return { ...failure(error, 0), decision };
}

const hasGuards = (c: ExecuteContext) =>
  (c.policy ?? c.approve ?? c.audit ?? c.pins ?? c.rateLimiter ?? c.agent ?? c.role) !== undefined;

/** The context's guards over the executor's: a guard the context leaves out keeps the executor's. */
function withContextGuards(own: ToolGuards, c: ExecuteContext): ToolGuards {
  return {
    policy: c.policy ?? own.policy,
    approve: c.approve ?? own.approve,
    audit: c.audit ?? own.audit,
    pins: c.pins ?? own.pins,
    rateLimiter: c.rateLimiter ?? own.rateLimiter,
    agent: c.agent ?? own.agent,
    role: c.role ?? own.role,
  };
}

/** Drops undefined fields, so a context that leaves a guard out does not erase the executor's. */
function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function failure(error: CadreError, attempts: number): Attempt {
  const info: ErrorInfo = { code: error.code, kind: error.kind, message: error.message };
  return { ok: false, output: `Error (${error.code}): ${error.message}`, error: info, truncated: false, attempts };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
