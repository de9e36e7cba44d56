/**
 * Evaluation: run an agent, strategy or team over a suite of cases, check the answers, and compare
 * pass rate, tokens, cost and latency with an earlier run.
 *
 * @module cadre/eval
 */
export { runEval, type RunEvalOptions } from './run-eval.js';
export { defineSuite, loadSuite, parseSuite } from './load-suite.js';
export {
  caseSchema,
  jsonCheckerSchema,
  simulators,
  suiteSchema,
  type CheckFunction,
  type CheckOutcome,
  type CheckerSpec,
  type EvalCase,
  type EvalSuite,
} from './suite-schema.js';
export { checkAnswer, checkerOf, type CheckContext } from './check-answer.js';
export { finalAnswer, numberIn } from './final-answer.js';
export { judgeAnswer, judgeInstructions, type JudgeRequest } from './llm-judge.js';
export { wilsonInterval, type Interval } from './wilson-interval.js';
export {
  summarise,
  type CaseResult,
  type CaseStatus,
  type EvalResults,
  type EvalSummary,
  type ModelSource,
} from './eval-results.js';
export { compareResults, type CaseChange, type EvalComparison } from './compare-results.js';
export { formatComparison, formatEvalTable } from './format-results.js';
export { readResults, writeResults } from './results-file.js';
export { openAnswerCache, type AnswerCache, type CachedAnswer } from './answer-cache.js';
export { isStrategyName, strategyAgent, strategyNames, type StrategyAgentName } from './agent-by-name.js';
export { game24Defaults, offlineModels, type OfflineModelOptions } from './offline-models.js';
export { oracleModel, type OracleModelOptions } from './oracle-model.js';
export { toolScriptModel } from './tool-script-model.js';
