import { ReflexionAgent, builtinRoles, functionEvaluator, isAgent, type RoleDefinition } from '../../agents/index.js';
import type { EpisodeStore } from '../../memory/index.js';
import { builtinTools } from '../../tools/index.js';
import type { CadreConfig } from '../core/index.js';

/**
 * The team `cadre run` and the demo use: the built-in roles over the built-in tools, with the coder
 * checked by Reflexion — an answer to a calculation must state a number — and its lessons kept.
 */
export function createDefaultTeam(config: CadreConfig, episodes?: EpisodeStore): RoleDefinition[] {
  const tools = builtinTools({ root: config.workspaceDir, allowedHosts: config.httpAllowedHosts });
  return builtinRoles({ tools, maxSteps: Math.min(10, config.maxSteps) }).map((role) => {
    if (role.name !== 'coder' || isAgent(role.agent)) return role;
    const evaluator = functionEvaluator((answer) => /\d/.test(answer) || 'The answer must state the computed number.');
    return {
      ...role,
      agent: new ReflexionAgent({ actor: role.agent, evaluator, maxAttempts: 2, ...(episodes ? { episodes } : {}) }),
    };
  });
}
