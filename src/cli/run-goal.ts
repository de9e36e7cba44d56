import pc from 'picocolors';
import { CadreError, loadConfig, type CadreConfigInput } from '../core/index.js';
import { createFixedRouter, type ModelRouter } from '../models/router.js';
import { createRouterFromConfig } from '../models/router-from-config.js';
import { run, type RunResult } from '../runtime/index.js';
import { createDefaultAgentSpec } from './default-agent.js';
import { createDemoModel } from './demo-model.js';
import { ProgressView } from './progress-view.js';

export interface RunGoalOptions {
  goal: string;
  config: CadreConfigInput;
  json: boolean;
  /** `auto`: scripted model only when no real one answers; `force`: always; `never`: fail instead. */
  scripted: 'auto' | 'force' | 'never';
}

/** Runs a goal with the default agent, shows it live (or as JSON lines) and returns the exit code. */
export async function runGoal(options: RunGoalOptions): Promise<number> {
  const config = loadConfig(options.config);
  const router = await chooseRouter(options, config);
  const handle = run({ goal: options.goal, agent: createDefaultAgentSpec(config), router, config: options.config });
  const onSigint = () => handle.cancel('interrupted (Ctrl-C)');
  process.once('SIGINT', onSigint);
  const view = options.json ? undefined : new ProgressView();
  for await (const event of handle.events()) {
    if (view) view.handle(event);
    else process.stdout.write(`${JSON.stringify(event)}\n`);
  }
  process.off('SIGINT', onSigint);
  const result = await handle.result;
  if (!options.json) printResult(result);
  return exitCode(result);
}

async function chooseRouter(options: RunGoalOptions, config: ReturnType<typeof loadConfig>): Promise<ModelRouter> {
  const notice = (why: string) =>
    process.stderr.write(pc.yellow(`${why} Using the scripted model from cadre/testing: its replies are scripted, not generated.\n`));
  const scripted = () => createFixedRouter(createDemoModel(), { provider: 'local', model: 'scripted-demo', location: 'local' });
  if (options.scripted === 'force') {
    notice('--scripted given.');
    return scripted();
  }
  try {
    return await createRouterFromConfig(config, { timeoutMs: config.detectTimeoutMs });
  } catch (error) {
    if (options.scripted === 'never' || !CadreError.isInstance(error) || error.code !== 'model_unavailable') throw error;
    notice(`${error.message.replace(/^no model reachable/, 'No model reachable')}.`);
    return scripted();
  }
}

function printResult(result: RunResult): void {
  const out = process.stdout;
  if (result.answer !== null) out.write(`\n${pc.bold('answer')}\n${result.answer}\n`);
  const tokens = `${result.usage.totalTokens} tokens (in ${result.usage.inputTokens} / out ${result.usage.outputTokens})`;
  const colour = result.status === 'completed' ? pc.green : result.status === 'failed' ? pc.red : pc.yellow;
  out.write(`\n${colour(result.status)} · ${result.steps} steps · ${tokens} · $${result.costUsd.toFixed(4)} · ${(result.durationMs / 1000).toFixed(2)} s\n`);
  if (result.error && result.status === 'failed') out.write(`${pc.red(`${result.error.code}: ${result.error.message}`)}\n`);
}

/** 0 completed; 130 cancelled; otherwise 2 for errors the user can fix and 1 for system errors. */
export function exitCode(result: RunResult): number {
  if (result.status === 'completed') return 0;
  if (result.status === 'cancelled') return 130;
  return result.error?.kind === 'user' ? 2 : 1;
}
