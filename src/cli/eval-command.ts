import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { fraction, nonNegative, positiveInt } from './arg-parsers.js';
import pc from 'picocolors';
import type { BudgetLimits } from '../core/budget.js';
import type { CadreConfig, CadreConfigInput } from '../core/config.js';
import { CadreError } from '../core/errors.js';
import type { EvalSuite } from '../eval/index.js';

/** What `cadre eval` was asked, from its flags. */
export interface EvalCommandOptions {
  suite: string;
  agent?: string;
  team?: string;
  app?: string;
  config: CadreConfigInput;
  /** Answer with the suite's offline model even when a real one is reachable. */
  scripted: boolean;
  accuracy?: number;
  /** The game24 simulator's chance that proposed next steps hold one that can still reach 24. */
  proposeAccuracy?: number;
  /** The game24 simulator's chance that a sure / likely / impossible verdict is right. */
  valueAccuracy?: number;
  seed: number;
  concurrency?: number;
  budget: BudgetLimits;
  /** The answer cache file; `false`: no cache; undefined: `<dataDir>/eval-cache.db`. */
  cache?: string | false;
  out?: string;
  compare?: string;
  maxDrop: number;
  minPassRate?: number;
  json: boolean;
  keepRuns: boolean;
}

interface EvalFlags {
  agent?: string;
  team?: string;
  app?: string;
  model?: string;
  scripted?: boolean;
  accuracy?: number;
  proposeAccuracy?: number;
  valueAccuracy?: number;
  seed: number;
  concurrency?: number;
  maxCost?: number;
  maxTokens?: number;
  maxCalls?: number;
  maxSteps?: number;
  cache: string | boolean;
  out?: string;
  compare?: string;
  maxDrop: number;
  minPassRate?: number;
  workspace?: string;
  data?: string;
  keepRuns?: boolean;
  json?: boolean;
}

/** Adds `cadre eval <suite>` to the program; the harness loads only when the command runs. */
export function addEvalCommand(program: Command): void {
  program
    .command('eval')
    .argument('<suite>', 'the suite: a JSON file of cases (see examples/evals)')
    .description('run an agent, strategy or team over a suite; print pass rate, tokens, cost and latency')
    .option('--agent <name>', 'react (default), cot, sc, tot, lats, or an agent of the app registry')
    .option('--team <name>', 'a team of the app registry, instead of an agent')
    .option('--app <module>', 'the app registry (default: CADRE_APP or ./cadre.app.ts)')
    .option('--model <provider:model>', 'use this model, e.g. ollama:llama3.1 or openai:gpt-4o-mini')
    .option('--scripted', "answer with the suite's simulated or scripted model even when a real one is reachable")
    .option(
      '--accuracy <p>',
      'how often the simulated model answers right in one go (default 0.04 for game24, 0.8 for oracle)',
      fraction,
    )
    .option(
      '--propose-accuracy <p>',
      'game24 simulator: how often its proposed next steps hold one that can still reach 24 (default 0.9)',
      fraction,
    )
    .option(
      '--value-accuracy <p>',
      'game24 simulator: how often its sure / likely / impossible verdict on a step is right (default 0.9)',
      fraction,
    )
    .option('--seed <n>', 'seed of the simulated model', (v) => (v === '0' ? 0 : positiveInt(v)), 1)
    .option('--concurrency <n>', 'cases run at once (default 4)', positiveInt)
    .option('--max-cost <usd>', 'most US dollars the whole suite may spend', nonNegative)
    .option('--max-tokens <n>', 'most tokens the whole suite may use', positiveInt)
    .option('--max-calls <n>', 'most model calls the whole suite may make', positiveInt)
    .option(
      '--max-steps <n>',
      "most model calls one case may make (default 200, or the strategy's most when larger)",
      positiveInt,
    )
    .option('--cache <file>', 'the answer cache (default: <data>/eval-cache.db)')
    .option('--no-cache', 'ask the model every time')
    .option('--out <file>', 'where the results JSON goes (default: <data>/evals/<suite>-<time>.json)')
    .option(
      '--compare <results>',
      'an earlier results file: list regressions; exit 1 when the pass rate fell by more than --max-drop',
    )
    .option('--max-drop <rate>', 'largest fall in pass rate --compare allows, 0 to 1', fraction, 0.05)
    .option('--min-pass-rate <rate>', 'exit 1 when the pass rate is below this, 0 to 1', fraction)
    .option(
      '--workspace <dir>',
      "folder the file tools work in (default: the suite's workspace, else the current folder)",
    )
    .option('--data <dir>', 'where the cache and results are kept (default: .cadre)')
    .option('--keep-runs', "keep each case's run in the run store, for cadre events (default: kept in memory only)")
    .option('--json', 'print the results JSON on stdout instead of the table')
    .action(async (suite: string, flags: EvalFlags) => {
      const budget: BudgetLimits = {
        ...(flags.maxCost !== undefined ? { maxCostUsd: flags.maxCost } : {}),
        ...(flags.maxTokens !== undefined ? { maxTokens: flags.maxTokens } : {}),
        ...(flags.maxCalls !== undefined ? { maxSteps: flags.maxCalls } : {}),
      };
      process.exitCode = await evaluate({
        suite,
        config: {
          dataDir: flags.data,
          model: flags.model,
          workspaceDir: flags.workspace,
          ...(flags.maxSteps !== undefined ? { maxSteps: flags.maxSteps } : {}),
        },
        scripted: Boolean(flags.scripted),
        seed: flags.seed,
        budget,
        cache: flags.cache === true ? undefined : flags.cache,
        maxDrop: flags.maxDrop,
        json: Boolean(flags.json),
        keepRuns: Boolean(flags.keepRuns),
        ...(flags.agent ? { agent: flags.agent } : {}),
        ...(flags.team ? { team: flags.team } : {}),
        ...(flags.app ? { app: flags.app } : {}),
        ...(flags.accuracy !== undefined ? { accuracy: flags.accuracy } : {}),
        ...(flags.proposeAccuracy !== undefined ? { proposeAccuracy: flags.proposeAccuracy } : {}),
        ...(flags.valueAccuracy !== undefined ? { valueAccuracy: flags.valueAccuracy } : {}),
        ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
        ...(flags.out ? { out: flags.out } : {}),
        ...(flags.compare ? { compare: flags.compare } : {}),
        ...(flags.minPassRate !== undefined ? { minPassRate: flags.minPassRate } : {}),
      });
    });
}

/**
 * `cadre eval`: runs the suite, writes the results JSON, prints the table (or the JSON) and, with
 * `--compare`, the regressions. Exit 0, or 1 when a gate (`--max-drop`, `--min-pass-rate`) fails.
 */
export async function evaluate(o: EvalCommandOptions): Promise<number> {
  const [harness, { loadConfig }] = await Promise.all([import('../eval/index.js'), import('../core/config.js')]);
  const suite = await harness.loadSuite(o.suite);
  const config = loadConfig(o.config);
  const workspaceDir =
    o.config.workspaceDir ?? (suite.workspace ? resolve(dirname(o.suite), suite.workspace) : config.workspaceDir);
  const needsApp = o.team !== undefined || (o.agent !== undefined && !harness.isStrategyName(o.agent));
  const app = needsApp ? await (await import('../app/index.js')).loadApp(o.app ? { path: o.app } : {}) : undefined;
  const { router, source, notice } = await chooseModels(o, suite, config);
  const previous = o.compare ? await harness.readResults(o.compare) : undefined;
  const cachePath = o.cache === false ? undefined : (o.cache ?? join(config.dataDir, 'eval-cache.db'));
  const cache = cachePath ? harness.openAnswerCache({ path: cachePath }) : undefined;
  const live = !o.json && process.stderr.isTTY;
  let results;
  try {
    results = await harness.runEval({
      suite,
      router,
      models: source,
      source: o.suite,
      budget: o.budget,
      config: {
        ...o.config,
        workspaceDir,
        ...(o.keepRuns ? {} : { databasePath: ':memory:' }),
      },
      ...(o.agent ? { agent: o.agent } : {}),
      ...(o.team ? { team: o.team } : {}),
      ...(app ? { app } : {}),
      ...(cache ? { cache } : {}),
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(live ? { onCase: (c) => process.stderr.write(pc.dim(`${c.status.padEnd(7)} ${c.id}\n`)) } : {}),
    });
  } finally {
    cache?.close();
  }
  // Said once the answers are in, and only when the offline model gave them (not a team's own models).
  if (notice && results.models.kind === source.kind) process.stderr.write(pc.yellow(`${notice}\n`));
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const out = await harness.writeResults(
    o.out ?? join(config.dataDir, 'evals', `${suite.name}-${stamp}.json`),
    results,
  );
  const comparison = previous ? harness.compareResults(previous, results, { maxDrop: o.maxDrop }) : undefined;
  const belowMin = o.minPassRate !== undefined && results.summary.passRate < o.minPassRate;
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ ...results, ...(comparison ? { comparison } : {}) })}\n`);
  } else {
    process.stdout.write(harness.formatEvalTable(results));
    // The table's figures are the script's, not a model's: said where they are read, not only on stderr.
    if (results.models.kind === 'simulated' || results.models.kind === 'scripted')
      process.stdout.write(
        pc.yellow(`These answers come from a ${results.models.kind} model: a simulation, not a language model.\n`),
      );
    process.stdout.write(pc.dim(`results: ${out}\n`));
    if (comparison && o.compare) process.stdout.write(`\n${harness.formatComparison(comparison, o.compare)}`);
    if (belowMin)
      process.stdout.write(
        pc.red(
          `FAIL: pass rate ${(results.summary.passRate * 100).toFixed(1)}% is below --min-pass-rate ${(o.minPassRate! * 100).toFixed(1)}%\n`,
        ),
      );
  }
  return comparison?.failed || belowMin ? 1 : 0;
}

/** The configured models, as `cadre run` finds them; else (or with --scripted) the suite's offline model, said plainly. */
async function chooseModels(o: EvalCommandOptions, suite: EvalSuite, config: CadreConfig) {
  const { offlineModels } = await import('../eval/index.js');
  const offline = (why: string) => {
    const chosen = offlineModels({
      suite,
      seed: o.seed,
      ...(o.accuracy !== undefined ? { accuracy: o.accuracy } : {}),
      ...(o.proposeAccuracy !== undefined ? { proposeAccuracy: o.proposeAccuracy } : {}),
      ...(o.valueAccuracy !== undefined ? { valueAccuracy: o.valueAccuracy } : {}),
    });
    return { ...chosen, notice: `${why} Answers come from ${chosen.source.description}.` };
  };
  if (o.scripted) return offline('Offline run (--scripted).');
  try {
    const { createRouterFromConfig } = await import('../models/router-from-config.js');
    const { formatModelRef } = await import('../models/model-ref.js');
    const router = await createRouterFromConfig(config, { timeoutMs: config.detectTimeoutMs });
    const description = router.candidates.map(formatModelRef).join(', ');
    return { router, source: { kind: 'configured' as const, description }, notice: undefined };
  } catch (error) {
    if (!CadreError.isInstance(error) || error.code !== 'model_unavailable') throw error;
    return offline(`${error.message.replace(/^no model reachable/, 'No model reachable')}.`);
  }
}
