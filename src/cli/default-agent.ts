import type { AgentSpec } from '../../agents/index.js';
import type { CadreConfig } from '../core/index.js';
import { builtinTools } from '../../tools/index.js';

/** The agent `cadre run` uses: a generalist with the built-in tools, confined to the workspace. */
export function createDefaultAgentSpec(config: CadreConfig): AgentSpec {
  return {
    name: 'assistant',
    role: 'generalist',
    instructions: [
      'You are a careful assistant working for the user on one goal.',
      'Use the tools for anything you cannot know for certain (arithmetic, files, the time, web pages);',
      'call several tools at once when the calls do not depend on each other.',
      'When you have what you need, answer the goal directly and briefly.',
    ].join(' '),
    tools: builtinTools({ root: config.workspaceDir, allowedHosts: config.httpAllowedHosts }),
    maxSteps: config.maxSteps,
  };
}
