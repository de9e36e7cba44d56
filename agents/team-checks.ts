import { CadreError } from '../src/core/errors.js';
import type { Agent } from './agent.js';
import { defineAgentSpec, type AgentSpec } from './agent-spec.js';

/** Whether a role or option holds a ready Agent rather than a spec for a ReActAgent. */
export const isAgent = (value: Agent | AgentSpec): value is Agent => typeof (value as Agent).run === 'function';

/** Throws `input_invalid` for no roles, a bad role name or a name given twice. */
export function checkRoleNames(roles: readonly { name: string }[]): void {
  if (roles.length === 0) throw new CadreError('input_invalid', 'A run needs at least one role');
  const seen = new Set<string>();
  for (const role of roles) {
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(role.name))
      throw new CadreError('input_invalid', `Role name "${role.name}" must be 1-64 letters, digits, _ or -`);
    if (seen.has(role.name)) throw new CadreError('input_invalid', `Role "${role.name}" is defined twice`);
    seen.add(role.name);
  }
}

/**
 * Checks a run's team at once, before anything is stored: the agent spec, role names, each role's
 * spec. Light on purpose: `run()` calls it without loading the agents themselves.
 */
export function checkTeam(team: {
  agent?: Agent | AgentSpec;
  roles?: readonly { name: string; agent: Agent | AgentSpec }[];
}): void {
  if (team.agent && !isAgent(team.agent)) defineAgentSpec(team.agent);
  if (team.roles) checkRoleNames(team.roles);
  for (const role of team.roles ?? []) if (!isAgent(role.agent)) defineAgentSpec(role.agent);
}
