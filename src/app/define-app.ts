import { CadreError, rejectUnknownKeys, type CadreConfig } from '../core/index.js';
import type { RunOptions } from '../runtime/index.js';
import { runKeys } from '../runtime/check-run-options.js';

/** What a registered team runs with: the team options of {@link RunOptions}, less what each run brings. */
export type TeamSettings = Omit<RunOptions, 'goal' | 'runId' | 'signal' | 'metadata' | 'app' | 'owner' | 'job'>;

// What each run brings, checked both ways against TeamSettings; a registered team sets every other option.
type PerRunKey = Exclude<keyof RunOptions, keyof TeamSettings>;
const perRunKeys = [
  'goal',
  'runId',
  'signal',
  'metadata',
  'app',
  'owner',
  'job',
] as const satisfies ReadonlyArray<PerRunKey>;
const everyPerRunKey: [Exclude<PerRunKey, (typeof perRunKeys)[number]>] extends [never] ? true : never = true;
void everyPerRunKey;

/** What a registered agent runs with: one `agent` (a spec or a ready Agent) and, optionally, its models and tools. */
export type AgentSettings = TeamSettings & Required<Pick<RunOptions, 'agent'>>;

/** What a factory in the registry is given when a run of its team or agent starts or resumes. */
export interface AppContext {
  /** The loaded config of the process starting the run (data folder, workspace, limits). */
  config: CadreConfig;
  /** The name the team or agent is registered under. */
  name: string;
}

/** A team as registered: its settings, or a function that makes them for each run. */
export type TeamDefinition = TeamSettings | ((context: AppContext) => TeamSettings | Promise<TeamSettings>);

/** An agent as registered: its settings, or a function that makes them for each run. */
export type AgentDefinition = AgentSettings | ((context: AppContext) => AgentSettings | Promise<AgentSettings>);

/** The argument of {@link defineApp}: teams and agents by name. */
export interface AppDefinition {
  teams?: Record<string, TeamDefinition>;
  agents?: Record<string, AgentDefinition>;
}

/** A checked registry of teams and agents: what `cadre.app.ts` exports and `runNamed` starts runs of. */
export interface CadreApp {
  /** Marks a registry made by `defineApp`, also by another copy of cadre. */
  readonly kind: 'cadre.app';
  readonly teams: ReadonlyMap<string, TeamDefinition>;
  readonly agents: ReadonlyMap<string, AgentDefinition>;
}

// The keys of TeamSettings, from the checked list of every run option.
const settingKeys = runKeys.filter((key) => !(perRunKeys as readonly string[]).includes(key));

const namePattern = /^[A-Za-z0-9][\w.-]{0,63}$/;
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Registers teams and agents by name, so any process (the CLI, `cadre serve`, a worker) can start,
 * resume or answer a run of them without being handed the team in code. Export the result as the
 * default export of `cadre.app.ts`. Throws `app_invalid` naming what is wrong.
 */
export function defineApp(definition: AppDefinition): CadreApp {
  if (!isObject(definition)) throw invalid('defineApp() takes an object: { teams, agents }');
  rejectUnknownKeys(definition, ['teams', 'agents'], 'defineApp() field', 'app_invalid');
  const teams = entries<TeamDefinition>(definition.teams, 'teams');
  const agents = entries<AgentDefinition>(definition.agents, 'agents');
  for (const name of agents.keys())
    if (teams.has(name)) throw invalid(`"${name}" is both a team and an agent; a name means one of them`);
  for (const [name, entry] of agents)
    if (typeof entry !== 'function' && entry.agent === undefined)
      throw invalid(`agents.${name} needs an \`agent\`: a spec ({ name, instructions, tools }) or an Agent`);
  return Object.freeze({ kind: 'cadre.app' as const, teams, agents });
}

/** Whether `value` is a {@link CadreApp}, also one made by another copy of cadre. */
export function isCadreApp(value: unknown): value is CadreApp {
  return isObject(value) && value.kind === 'cadre.app' && value.teams instanceof Map && value.agents instanceof Map;
}

function entries<T extends TeamDefinition>(value: unknown, field: string): Map<string, T> {
  if (value === undefined) return new Map();
  if (!isObject(value)) throw invalid(`\`${field}\` must be an object of name: definition`);
  const map = new Map<string, T>();
  for (const [name, entry] of Object.entries(value)) {
    if (!namePattern.test(name))
      throw invalid(`${field}.${name}: a name is 1-64 letters, digits, _ . or -, starting with a letter or digit`);
    if (typeof entry !== 'function') {
      if (!isObject(entry)) throw invalid(`${field}.${name} must be an object of run options or a function`);
      rejectUnknownKeys(entry, settingKeys, `option in ${field}.${name}`, 'app_invalid');
    }
    map.set(name, entry as T);
  }
  return map;
}

const invalid = (message: string) => new CadreError('app_invalid', message);
