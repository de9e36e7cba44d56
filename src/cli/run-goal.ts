import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import pc from 'picocolors';
import { createMemory } from '../../memory/index.js';
import { CadreError, loadConfig, type CadreConfig, type CadreConfigInput } from '../core/index.js';
import type { ModelRouter } from '../models/router.js';
import { createRouterFromConfig } from '../models/router-from-config.js';
import {
  openConfiguredStore,
  resume,
  run,
  type PlanApprovalRequest,
  type PlanDecision,
  type RunHandle,
  type RunResult,
} from '../runtime/index.js';
import type { ApprovalHandler } from '../../tools/index.js';
import { loadApp, resumeNamed } from '../app/index.js';
import { createDefaultTeam } from '../app/demo-team.js';
import { createDemoRouter } from '../app/demo-model.js';
import { ProgressView, renderPlan } from './progress-view.js';
import { printResult } from './print-result.js';
import { terminalElicitor } from './elicitation-prompt.js';

export interface RunGoalOptions {
  goal: string;
  config: CadreConfigInput;
  json: boolean;
  /** `auto`: scripted model only when no real one answers; `force`: always; `never`: fail instead. */
  scripted: 'auto' | 'force' | 'never';
  /** Ask before executing the plan (on a terminal), or stop at the gate (otherwise). */
  approvePlan?: boolean;
  /** Stop at tool calls that need approval (status awaiting_approval) instead of asking now. */
  approveLater?: boolean;
  /** `sensitive`: local models only. */
  privacy?: 'public' | 'sensitive';
  /** With `json`, also print the live `model.delta` events (not stored) as JSON lines. */
  stream?: boolean;
}

/** Plans and runs a goal with the default team, shows it live (or as JSON lines), returns the exit code. */
export async function runGoal(options: RunGoalOptions): Promise<number> {
  const config = loadConfig(options.config);
  const { router, scripted } = await chooseRouter(options.scripted, config);
  const view = options.json ? undefined : new ProgressView();
  const memory = await openMemory(config);
  try {
    const handle = run({
      goal: options.goal,
      roles: createDefaultTeam(config, memory.episodes),
      router,
      config: options.config,
      memory,
      approveTool: options.approveLater ? 'interrupt' : toolApprover(view),
      ...elicitAt(view),
      ...(options.privacy ? { privacy: options.privacy } : {}),
      approvePlan: options.approvePlan ? approverFor(view) : false,
      metadata: { scripted },
    });
    return await follow(handle, view, 1, options.stream);
  } finally {
    await memory.close();
  }
}

export interface ResumeRunOptions {
  runId: string;
  config: CadreConfigInput;
  json: boolean;
  decision?: PlanDecision;
  /** The app registry module, for a run started by name (default: CADRE_APP or ./cadre.app.ts). */
  app?: string;
}

/** Continues a stopped, crashed or waiting run with the same team and model source it started with. */
export async function resumeRun(options: ResumeRunOptions): Promise<number> {
  const config = loadConfig(options.config);
  const record = openConfiguredStore(config).runs.get(options.runId);
  if (!record) throw new CadreError('run_not_found', `No run ${options.runId} in ${openConfiguredStore(config).path}`);
  // A run started by name (e.g. over HTTP) is rebuilt from the app registry, whoever started it.
  if (record.settings?.app) {
    const fromSeq = openConfiguredStore(config).events.nextSeq(options.runId);
    const handle = await resumeNamed(options.runId, {
      app: await loadApp(options.app ? { path: options.app } : {}),
      config: options.config,
      ...(options.decision ? { decision: options.decision } : {}),
    });
    return follow(handle, options.json ? undefined : new ProgressView(), fromSeq);
  }
  const metadata = (record.settings?.metadata ?? {}) as { scripted?: boolean };
  const { router } = await chooseRouter(metadata.scripted ? 'force' : 'never', config);
  const view = options.json ? undefined : new ProgressView();
  const fromSeq = openConfiguredStore(config).events.nextSeq(options.runId);
  const memory = await openMemory(config);
  // A run that stops for tool approvals is answered with --approve / --reject, not at a prompt.
  const approveTool = record.settings?.toolApproval === 'interrupt' ? 'interrupt' : toolApprover(view);
  try {
    const handle = resume(options.runId, {
      roles: createDefaultTeam(config, memory.episodes),
      router,
      config: options.config,
      memory,
      approveTool,
      ...elicitAt(view),
      ...(options.decision ? { decision: options.decision } : {}),
    });
    return await follow(handle, view, fromSeq);
  } finally {
    await memory.close();
  }
}

/**
 * Streams a run to the terminal, the final task's reply as it is written; Ctrl-C or SIGTERM drains
 * it into a resumable state. JSON lines hold stored events only, unless `deltas` adds `model.delta`.
 */
async function follow(handle: RunHandle, view: ProgressView | undefined, fromSeq = 1, deltas = false): Promise<number> {
  const stop = (signal: string) => () => handle.cancel(`${signal} received; resume with: cadre resume ${handle.runId}`);
  const onSigint = stop('SIGINT');
  const onSigterm = stop('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  // Asking for deltas makes the agents stream their replies; without a reader they answer whole.
  for await (const event of handle.events(fromSeq, { transient: Boolean(view) || deltas })) {
    if (view) view.handle(event);
    else process.stdout.write(`${JSON.stringify(event)}\n`);
  }
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigterm);
  const result = await handle.result;
  if (view) printResult(result, process.stdout, { answerShown: result.answer === view.streamedAnswer });
  return exitCode(result);
}

function approverFor(view: ProgressView | undefined) {
  return async (request: PlanApprovalRequest): Promise<PlanDecision> => {
    if (!process.stdin.isTTY)
      throw new CadreError(
        'input_invalid',
        '--approve-plan asks on a terminal; without one, approve with `cadre resume <runId> --approve`',
      );
    if (view) view.paused = true;
    const prompt = createInterface({ input: process.stdin, output: process.stdout });
    try {
      process.stdout.write(`\n${renderPlan(request.graph)}\n`);
      const answer = (await prompt.question(`${pc.bold('Run this plan?')} [y]es / [n]o: `)).trim().toLowerCase();
      return answer.startsWith('y') ? { action: 'approve' } : { action: 'reject', reason: 'rejected at the prompt' };
    } finally {
      prompt.close();
      if (view) view.paused = false;
    }
  };
}

/** MCP servers' questions asked at the terminal, unless output is JSON (then they are declined). */
function elicitAt(view: ProgressView | undefined) {
  const elicit = view ? terminalElicitor(view) : undefined;
  return elicit ? { elicit } : {};
}

/** Asks on a terminal before a tool the policy marks `ask` runs; without a terminal, such calls are refused. */
function toolApprover(view: ProgressView | undefined): ApprovalHandler | undefined {
  if (!process.stdin.isTTY) return undefined;
  return async (request) => {
    if (view) view.paused = true;
    const prompt = createInterface({ input: process.stdin, output: process.stdout });
    try {
      const args = JSON.stringify(request.args);
      const answer = await prompt.question(
        `\n${pc.yellow('approve')} ${pc.bold(request.tool)} (${request.effects}) ${args.length > 200 ? `${args.slice(0, 199)}…` : args}? [y/N] `,
      );
      return /^y/i.test(answer.trim()) ? { approved: true } : { approved: false, reason: 'refused at the prompt' };
    } finally {
      prompt.close();
      if (view) view.paused = false;
    }
  };
}

/** The memory runs share: `<dataDir>/memory`, or Qdrant / Neo4j when QDRANT_URL / NEO4J_URI are set. */
export const openMemory = (config: CadreConfig) =>
  createMemory({ dir: join(config.dataDir, 'memory'), scope: { tenant: config.memoryTenant } });

async function chooseRouter(
  mode: RunGoalOptions['scripted'],
  config: CadreConfig,
): Promise<{ router: ModelRouter; scripted: boolean }> {
  const notice = (why: string) =>
    process.stderr.write(
      pc.yellow(
        `${why} Using scripted models from cadre/testing (a "small local" and a "large cloud" one, both offline): their replies are scripted, not generated.\n`,
      ),
    );
  const scripted = () => ({ router: createDemoRouter(), scripted: true });
  if (mode === 'force') {
    notice('Scripted run.');
    return scripted();
  }
  try {
    return { router: await createRouterFromConfig(config, { timeoutMs: config.detectTimeoutMs }), scripted: false };
  } catch (error) {
    if (!CadreError.isInstance(error) || error.code !== 'model_unavailable') throw error;
    if (mode === 'never') {
      // Nothing to run on is the user's to fix: say how, and exit 2.
      const fix =
        'Start Ollama (or set OLLAMA_HOST), set OPENAI_API_KEY or ANTHROPIC_API_KEY, or pass --model provider:model; to try cadre offline, add --scripted or run `cadre demo`.';
      throw new CadreError(
        'model_unavailable',
        `${error.message.replace(/^no model reachable/, 'No model reachable')}. ${fix}`,
        { kind: 'user', cause: error },
      );
    }
    notice(`${error.message.replace(/^no model reachable/, 'No model reachable')}.`);
    return scripted();
  }
}

/** 0 completed or waiting for approval; 130 cancelled; otherwise 2 for errors the user can fix and 1 for the rest. */
export function exitCode(result: RunResult): number {
  if (result.status === 'completed' || result.status === 'awaiting_approval') return 0;
  if (result.status === 'cancelled') return 130;
  return result.error?.kind === 'user' ? 2 : 1;
}
