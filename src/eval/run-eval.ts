import PQueue from 'p-queue';
import type { Agent } from '../../agents/index.js';
import { builtinTools } from '../../tools/builtin/index.js';
import type { Tool } from '../../tools/index.js';
import type { CadreApp } from '../app/index.js';
import {
  Budget,
  CadreError,
  loadConfig,
  type BudgetLimits,
  type CadreConfigInput,
  type ErrorInfo,
} from '../core/index.js';
import { createFixedRouter, type ModelRouter } from '../models/router.js';
import { formatModelRef } from '../models/model-ref.js';
import { run } from '../runtime/index.js';
import type { AnswerCache } from './answer-cache.js';
import { isStrategyName, strategyMaxCalls } from './agent-by-name.js';
import { checkAnswer } from './check-answer.js';
import { summarise, type CaseResult, type EvalResults, type ModelSource } from './eval-results.js';
import { evalSubject, type EvalSubject } from './eval-subject.js';
import { meteredRouter } from './metered-router.js';
import { ModelMeter } from './model-meter.js';
import type { EvalCase, EvalSuite } from './suite-schema.js';

/** What {@link runEval} runs, on which models, and within which limits. */
export interface RunEvalOptions {
  suite: EvalSuite;
  /** A strategy name (`react` by default, `cot`, `sc`, `tot`, `lats`), an Agent, or an agent registered in `app`. */
  agent?: string | Agent;
  /** A team registered in `app`, instead of an agent. */
  team?: string;
  app?: CadreApp;
  /** The models, also for `llm-judge` checks; a registered team or agent with its own `router` or `model` keeps them. */
  router: ModelRouter;
  /** Where the answers come from, in words for the results; default: the router's candidates. */
  models?: ModelSource;
  /** Replies by prompt hash: a rerun asks no model about a prompt it has seen. Omitted: no cache. */
  cache?: AnswerCache;
  /** Cases run at once. Default 4. */
  concurrency?: number;
  /** Limits for the whole suite; cases not started when one is reached are `skipped`. */
  budget?: BudgetLimits;
  /**
   * Each case's run config; default: 200 model calls (more when a strategy named in `agent` can
   * need more), one attempt (`fail-fast`), runs kept in memory only.
   */
  config?: CadreConfigInput;
  /** The tools cases may name. Default: the built-in tools over `config.workspaceDir`. */
  tools?: readonly Tool[];
  /** The suite file, for the results. */
  source?: string;
  /** Told as each case ends. */
  onCase?: (result: CaseResult) => void;
  signal?: AbortSignal;
}

/**
 * Runs every case of a suite on an agent, strategy or team — each case a `run()` of its own —
 * checks each answer, and returns per-case and total pass rate, tokens, cost and latency. Cases run
 * `concurrency` at a time; with a `cache`, replies are reused by prompt hash.
 */
export async function runEval(options: RunEvalOptions): Promise<EvalResults> {
  // One attempt per case: the suite measures the agent, not the runtime's retries and replans.
  // A strategy whose search can take more calls than the default is never cut short by it.
  const bound = typeof options.agent === 'string' && isStrategyName(options.agent) && strategyMaxCalls(options.agent);
  const config: CadreConfigInput = {
    maxSteps: Math.max(200, bound || 0),
    failurePolicy: 'fail-fast',
    maxRetries: 0,
    databasePath: ':memory:',
    ...options.config,
  };
  const loaded = loadConfig(config);
  const subject = evalSubject({ agent: options.agent, team: options.team, app: options.app, config: loaded });
  const tools = options.tools ?? builtinTools({ root: loaded.workspaceDir, allowedHosts: loaded.httpAllowedHosts });
  checkCaseTools(options.suite, tools);
  const budget = options.budget && Object.keys(options.budget).length ? new Budget(options.budget) : undefined;
  const queue = new PQueue({ concurrency: options.concurrency ?? 4 });
  const startedAt = new Date();
  const started = performance.now();
  const own: ModelRouter[] = [];
  const cases = await Promise.all(
    options.suite.cases.map((evalCase) =>
      queue.add(async () => {
        const result = await runCase(evalCase, { ...options, config, subject, tools, budget, own });
        options.onCase?.(result);
        return result;
      }),
    ),
  );
  return {
    version: 1,
    suite: {
      name: options.suite.name,
      ...(options.suite.description ? { description: options.suite.description } : {}),
      ...(options.source ? { source: options.source } : {}),
    },
    subject: subject.name,
    models: own[0]
      ? { kind: 'team', description: `${subject.name}'s own (${own[0].candidates.map(formatModelRef).join(', ')})` }
      : (options.models ?? { kind: 'given', description: options.router.candidates.map(formatModelRef).join(', ') }),
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - started,
    summary: summarise(cases),
    cases,
  };
}

type CaseRun = RunEvalOptions & {
  config: CadreConfigInput;
  subject: EvalSubject;
  tools: readonly Tool[];
  budget: Budget | undefined;
  /** Told the models a registered team or agent brought, which answer instead of `router`. */
  own: ModelRouter[];
};

async function runCase(evalCase: EvalCase, o: CaseRun): Promise<CaseResult> {
  const exhausted = o.budget?.exhaustedLimit();
  if (exhausted || o.signal?.aborted)
    return {
      ...emptyResult(evalCase.id, 'skipped'),
      reason: exhausted ? `suite budget: ${exhausted} reached` : 'cancelled',
    };
  const meter = new ModelMeter();
  const metered = (router: ModelRouter) => meteredRouter(router, { meter, cache: o.cache, budget: o.budget });
  const started = performance.now();
  let outcome: Pick<CaseResult, 'status' | 'answer' | 'reason' | 'error' | 'runId'>;
  let latencyMs = 0;
  try {
    const caseTools = o.tools.filter((t) => evalCase.tools?.includes(t.name));
    const { model, router, config, ...settings } = await o.subject.settingsFor(evalCase, caseTools);
    const own = router ?? (model ? createFixedRouter(model) : undefined);
    if (own) o.own.push(own);
    const result = await run({
      ...settings,
      goal: evalCase.input,
      router: metered(own ?? o.router),
      config: { ...config, ...o.config },
      metadata: { eval: o.suite.name, case: evalCase.id },
      ...(o.signal ? { signal: o.signal } : {}),
    }).result;
    latencyMs = performance.now() - started;
    const kept = o.config.databasePath === ':memory:' ? {} : { runId: result.runId };
    if (result.status !== 'completed') {
      const error: ErrorInfo = result.error ?? { code: 'run_failed', kind: 'system', message: `run ${result.status}` };
      // A case the suite's budget cut short did not fail: it could not finish.
      const cut = error.code === 'budget_exceeded' && o.budget?.exhaustedLimit();
      outcome = { status: cut ? 'skipped' : 'error', answer: result.answer, reason: error.message, error, ...kept };
    } else {
      const answer = result.answer ?? '';
      const check = await checkAnswer(answer, evalCase, {
        router: metered(o.router),
        ...(o.signal ? { signal: o.signal } : {}),
      });
      outcome = {
        status: check.pass ? 'passed' : 'failed',
        answer,
        ...kept,
        ...(check.reason ? { reason: check.reason } : {}),
      };
    }
  } catch (error) {
    const cadre = CadreError.from(error);
    latencyMs ||= performance.now() - started;
    outcome = {
      status: 'error',
      answer: null,
      reason: cadre.message,
      error: { code: cadre.code, kind: cadre.kind, message: cadre.message },
    };
  }
  return {
    ...emptyResult(evalCase.id, outcome.status),
    ...outcome,
    usage: meter.usage,
    costUsd: meter.costUsd,
    latencyMs,
    modelCalls: meter.calls,
    cacheHits: meter.cacheHits,
  };
}

const emptyResult = (id: string, status: CaseResult['status']): CaseResult => ({
  id,
  status,
  answer: null,
  usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
  costUsd: 0,
  latencyMs: 0,
  modelCalls: 0,
  cacheHits: 0,
});

/** Every tool a case names must be one the suite runs with; says which case and which name otherwise. */
function checkCaseTools(suite: EvalSuite, tools: readonly Tool[]): void {
  const known = tools.map((t) => t.name);
  suite.cases.forEach((evalCase, i) => {
    const unknown = evalCase.tools?.find((name) => !known.includes(name));
    if (unknown !== undefined)
      throw new CadreError(
        'input_invalid',
        `Invalid suite: cases[${i}].tools (case "${evalCase.id}"): no tool "${unknown}"; tools: ${known.join(', ')}`,
        { details: { field: `cases[${i}].tools`, case: evalCase.id } },
      );
  });
}
