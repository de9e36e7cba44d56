import type { Tool } from '../define-tool.js';
import type { ToolPinStore } from './tool-pins.js';
import type { PolicySubject, ToolPolicy } from './tool-policy.js';

/** Who the agent is, and the policy and pins that decide which tools it may see. */
export interface VisibleToolsOptions extends PolicySubject {
  policy?: ToolPolicy;
  pins?: ToolPinStore;
}

/**
 * The tools to bind to the model for one agent: denied and quarantined tools are left out, so the
 * model never reads their names or descriptions (a changed description may be the attack itself).
 */
export function modelVisibleTools<T extends Tool>(tools: readonly T[], options: VisibleToolsOptions): T[] {
  const { policy, pins, ...subject } = options;
  const allowed = policy ? policy.visibleTools(tools, subject) : [...tools];
  return pins ? allowed.filter((tool) => pins.check(tool).state !== 'quarantined') : allowed;
}
