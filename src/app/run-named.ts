import { CadreError, loadConfig, rejectUnknownKeys, type CadreConfig, type CadreConfigInput } from '../core/index.js';
import {
  readRunRecord,
  resume,
  run,
  type PlanDecision,
  type RunAppEntry,
  type RunHandle,
  type RunOwner,
} from '../runtime/index.js';
import type { AgentSettings, CadreApp, TeamSettings } from './define-app.js';
import { loadApp } from './load-app.js';

/** Limits a caller may set on one run; each only lowers what the config and the team allow. */
export interface RunBudget {
  maxSteps?: number;
  maxTokens?: number;
  maxCostUsd?: number;
  maxWallTimeMs?: number;
}

/** What {@link runNamed} needs: a registered team or agent (one of them) and the goal. */
export interface RunNamedOptions {
  /** The registry; default {@link loadApp}'s (`CADRE_APP` or `cadre.app.ts` in the working folder). */
  app?: CadreApp;
  team?: string;
  agent?: string;
  goal: string;
  budget?: RunBudget;
  /** `sensitive` keeps every model call local; a team registered as sensitive stays so. */
  privacy?: 'public' | 'sensitive';
  metadata?: Record<string, unknown>;
  /** This process's settings (data folder, database); not kept with the run. */
  config?: CadreConfigInput;
  runId?: string;
  signal?: AbortSignal;
  /** Who started the run, kept with it (the HTTP server sets it). */
  owner?: RunOwner;
  /** The job the run carries out (workers set it). */
  job?: string;
}

/** What {@link resumeNamed} needs; the team comes from the registry entry the run was started by. */
export interface ResumeNamedOptions {
  /** The registry; default {@link loadApp}'s. */
  app?: CadreApp;
  /** This process's settings (data folder, database). */
  config?: CadreConfigInput;
  /** The answer for a run waiting at `awaiting_approval`, as for `resume`. */
  decision?: PlanDecision;
  /** Run the failed tasks again (see `resume`). */
  retryFailed?: boolean;
  signal?: AbortSignal;
}

const budgetKeys = ['maxSteps', 'maxTokens', 'maxCostUsd', 'maxWallTimeMs'] as const;

/**
 * Starts a run of a registered team or agent by name, recording the name with the run so that any
 * process can resume it with {@link resumeNamed}. The run is committed before this resolves.
 * Throws `team_not_found` for a name the registry lacks, `input_invalid` for bad options.
 */
export async function runNamed(options: RunNamedOptions): Promise<RunHandle> {
  const entry = entryOf(options);
  const app = options.app ?? (await loadApp());
  const loaded = loadConfig(options.config);
  const settings = await settingsOf(app, entry, loaded);
  const base = { ...settings.config, ...options.config };
  const config = settings.config ? loadConfig(base) : loaded;
  const limits = budgetWithin(options.budget, config);
  const privacy = settings.privacy === 'sensitive' ? 'sensitive' : (options.privacy ?? settings.privacy);
  const handle = run({
    ...settings,
    goal: options.goal,
    // Loaded once: run() takes a config loadConfig made as it is.
    config: settings.config || Object.keys(limits).length ? { ...base, ...limits } : config,
    app: { ...entry, ...(Object.keys(limits).length ? { config: limits } : {}) },
    ...(privacy ? { privacy } : {}),
    ...(options.metadata ? { metadata: options.metadata } : {}),
    ...(options.runId ? { runId: options.runId } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.owner ? { owner: options.owner } : {}),
    ...(options.job ? { job: options.job } : {}),
  });
  // On PostgreSQL the record is written after run() returns: the run exists once this resolves.
  await handle.started;
  return handle;
}

/**
 * Continues a run started by {@link runNamed} in any process: its team is rebuilt from the registry
 * entry kept with the run, with the limits it started with. Throws `run_not_found`, or
 * `input_invalid` for a run that was not started by name.
 */
export async function resumeNamed(runId: string, options: ResumeNamedOptions = {}): Promise<RunHandle> {
  const config = loadConfig(options.config);
  const record = await readRunRecord(config, runId);
  if (!record) throw new CadreError('run_not_found', `No run ${runId}`);
  const entry = record.settings?.app as RunAppEntry | undefined;
  if (!entry || typeof (entry.team ?? entry.agent) !== 'string')
    throw new CadreError('input_invalid', `Run ${runId} was not started by name; resume it with resume(runId, team)`);
  const app = options.app ?? (await loadApp());
  const settings = await settingsOf(app, entry, config);
  const handle = resume(runId, {
    ...settings,
    config: { ...settings.config, ...options.config, ...entry.config },
    app: entry,
    ...(options.decision ? { decision: options.decision } : {}),
    ...(options.retryFailed ? { retryFailed: true } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  await handle.started;
  return handle;
}

/** Whether the registry has a team (or agent) of that name. */
export function hasEntry(app: CadreApp, entry: RunAppEntry): boolean {
  return entry.team !== undefined ? app.teams.has(entry.team) : app.agents.has(entry.agent ?? '');
}

function entryOf(options: RunNamedOptions): RunAppEntry {
  if ((options.team === undefined) === (options.agent === undefined))
    throw new CadreError('input_invalid', 'Name either a `team` or an `agent` to run');
  return options.team !== undefined ? { team: options.team } : { agent: options.agent! };
}

async function settingsOf(app: CadreApp, entry: RunAppEntry, config: CadreConfig): Promise<TeamSettings> {
  const kind = entry.team !== undefined ? 'team' : 'agent';
  const name = (entry.team ?? entry.agent)!;
  const definition = kind === 'team' ? app.teams.get(name) : app.agents.get(name);
  if (definition === undefined) {
    const known = [...(kind === 'team' ? app.teams : app.agents).keys()];
    throw new CadreError(
      'team_not_found',
      `No ${kind} "${name}" is registered; ${kind}s: ${known.join(', ') || 'none'}`,
      {
        details: { [kind]: name },
      },
    );
  }
  const settings = typeof definition === 'function' ? await definition({ config, name }) : definition;
  if (typeof settings !== 'object' || settings === null)
    throw new CadreError('app_invalid', `The ${kind} "${name}" made no run options`);
  if (kind === 'agent' && !(settings as AgentSettings).agent)
    throw new CadreError('app_invalid', `The agent "${name}" made no \`agent\``);
  return settings;
}

/** The caller's limits, each no higher than the config's (a caller lowers a budget, never raises it). */
function budgetWithin(budget: RunBudget | undefined, config: CadreConfig): RunBudget {
  if (budget === undefined) return {};
  if (typeof budget !== 'object' || budget === null)
    throw new CadreError('input_invalid', '`budget` must be an object');
  rejectUnknownKeys(budget, budgetKeys, 'budget field', 'input_invalid');
  const limits: RunBudget = {};
  for (const key of budgetKeys) {
    const value = budget[key];
    if (value === undefined) continue;
    const whole = key !== 'maxCostUsd';
    if (typeof value !== 'number' || !(value > 0 || (!whole && value === 0)) || (whole && !Number.isInteger(value)))
      throw new CadreError(
        'input_invalid',
        `budget.${key} must be a ${whole ? 'positive whole' : 'non-negative'} number`,
      );
    const allowed = config[key];
    limits[key] = allowed === undefined ? value : Math.min(value, allowed);
  }
  return limits;
}
