import { addUsage, emptyUsage, type ErrorInfo, type Usage } from '../core/index.js';
import { wilsonInterval, type Interval } from './wilson-interval.js';

/** How one case ended: its answer passed or failed its check, the run failed (`error`), or it never ran (`skipped`). */
export type CaseStatus = 'passed' | 'failed' | 'error' | 'skipped';

/** One case's outcome and what it cost. */
export interface CaseResult {
  id: string;
  status: CaseStatus;
  /** The agent's whole reply (the checker saw its final answer), or null when there was none. */
  answer: string | null;
  /** Why the check failed or passed (a judge's reason), or what went wrong. */
  reason?: string;
  error?: ErrorInfo;
  /** Tokens of the model calls made now (agent and judge); answers from the cache cost none. */
  usage: Usage;
  costUsd: number;
  /** Time to the agent's answer, in ms. */
  latencyMs: number;
  /** Model calls that reached a model. */
  modelCalls: number;
  /** Model calls answered from the cache. */
  cacheHits: number;
  /** The case's run, when runs are kept (`cadre events <runId>`). */
  runId?: string;
}

/** A suite's totals: pass rate over the cases that ran, with its Wilson 95% interval. */
export interface EvalSummary {
  cases: number;
  /** Cases that ran (not skipped for the budget). */
  ran: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  /** passed / ran; 0 when nothing ran. */
  passRate: number;
  interval: Interval;
  usage: Usage;
  costUsd: number;
  /** Sum over cases; with concurrency, more than the wall time. */
  latencyMs: number;
  modelCalls: number;
  cacheHits: number;
}

/** Where a suite's answers came from: a configured model, a simulated one, or a team's own. */
export interface ModelSource {
  kind: 'configured' | 'simulated' | 'scripted' | 'team' | 'given';
  /** What answered, in words, e.g. `ollama:llama3.1` or `oracle (accuracy 0.8, seed 1)`. */
  description: string;
}

/** What `runEval` returns and `cadre eval --out` writes: one JSON document per suite run. */
export interface EvalResults {
  version: 1;
  suite: { name: string; description?: string; source?: string };
  /** The agent, strategy or team the suite ran on, by name. */
  subject: string;
  models: ModelSource;
  startedAt: string;
  /** Wall time of the whole suite, in ms. */
  durationMs: number;
  summary: EvalSummary;
  cases: CaseResult[];
}

/** Totals over case results. */
export function summarise(cases: readonly CaseResult[]): EvalSummary {
  const count = (status: CaseStatus) => cases.filter((c) => c.status === status).length;
  const passed = count('passed');
  const skipped = count('skipped');
  const ran = cases.length - skipped;
  return {
    cases: cases.length,
    ran,
    passed,
    failed: count('failed'),
    errors: count('error'),
    skipped,
    passRate: ran === 0 ? 0 : passed / ran,
    interval: wilsonInterval(passed, ran),
    usage: cases.reduce((sum, c) => addUsage(sum, c.usage), emptyUsage()),
    costUsd: cases.reduce((sum, c) => sum + c.costUsd, 0),
    latencyMs: cases.reduce((sum, c) => sum + c.latencyMs, 0),
    modelCalls: cases.reduce((sum, c) => sum + c.modelCalls, 0),
    cacheHits: cases.reduce((sum, c) => sum + c.cacheHits, 0),
  };
}
