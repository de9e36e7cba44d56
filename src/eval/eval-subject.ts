import type { Agent } from '../../agents/index.js';
import type { Tool } from '../../tools/index.js';
import type { AgentDefinition, CadreApp, TeamDefinition, TeamSettings } from '../app/index.js';
import { CadreError, type CadreConfig } from '../core/index.js';
import { isStrategyName, strategyAgent, strategyNames } from './agent-by-name.js';
import type { EvalCase } from './suite-schema.js';

/** What a case runs on: run options for `run()` (less goal, config and router), and whether they bring models. */
export interface EvalSubject {
  /** `react`, `tot`, `agent:<name>`, `team:<name>`, ... for the results. */
  name: string;
  /** Run options for one case; a fresh agent (or team) each time. */
  settingsFor(evalCase: EvalCase, tools: readonly Tool[]): Promise<TeamSettings>;
}

/** How the subject is named: a strategy or registered agent, an Agent object, or a registered team. */
export interface SubjectChoice {
  agent?: string | Agent | undefined;
  team?: string | undefined;
  app?: CadreApp | undefined;
  config: CadreConfig;
}

/**
 * Resolves `--agent` / `--team`: a strategy name (react by default), an Agent given in code, or an
 * agent or team of the app registry. Throws `team_not_found` naming what is registered.
 */
export function evalSubject(choice: SubjectChoice): EvalSubject {
  if (choice.agent !== undefined && choice.team !== undefined)
    throw new CadreError('input_invalid', 'Name an agent or a team to evaluate, not both');
  const { agent = 'react', team, app, config } = choice;
  if (typeof agent === 'object') return { name: agent.name, settingsFor: async () => ({ agent }) };
  if (team === undefined && isStrategyName(agent))
    return { name: agent, settingsFor: async (_, tools) => ({ agent: strategyAgent(agent, { tools }) }) };
  const kind = team !== undefined ? 'team' : 'agent';
  const name = team ?? agent;
  const entries: ReadonlyMap<string, TeamDefinition | AgentDefinition> | undefined =
    kind === 'team' ? app?.teams : app?.agents;
  const definition = entries?.get(name);
  if (definition === undefined) {
    const known = [...(kind === 'agent' ? strategyNames : []), ...(entries?.keys() ?? [])];
    throw new CadreError(
      'team_not_found',
      `No ${kind} "${name}" to evaluate; ${kind}s: ${known.join(', ') || 'none'}`,
      {
        details: { [kind]: name },
      },
    );
  }
  return {
    name: `${kind}:${name}`,
    settingsFor: async () => {
      const settings = typeof definition === 'function' ? await definition({ config, name }) : definition;
      if (typeof settings !== 'object' || settings === null)
        throw new CadreError('app_invalid', `The ${kind} "${name}" made no run options`);
      return settings;
    },
  };
}
