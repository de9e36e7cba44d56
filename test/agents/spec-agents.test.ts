import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { run } from 'cadre';
import type { AgentSpec } from 'cadre/agents';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';

// Runs of one spec share the agent built from it; a spec changed in place must not run as it was.
describe('an agent spec reused across runs', () => {
  it('runs with the spec as it is now: changed instructions and tools take effect', async () => {
    const seen: Array<{ system: string; tools: string[] }> = [];
    const model = new ScriptedChatModel({
      respond: ({ messages, tools }) => {
        seen.push({ system: String(messages[0]!.content), tools: [...tools] });
        return 'done';
      },
    });
    const tool = (name: string) =>
      defineTool({ name, description: name, input: z.object({}), effects: 'read', run: () => name });
    const spec: AgentSpec = { name: 'helper', instructions: 'first instructions', tools: [tool('alpha')] };
    const config = { databasePath: ':memory:' };
    for (let i = 0; i < 2; i++)
      expect((await run({ goal: 'go', agent: spec, model, config }).result).status).toBe('completed');
    spec.instructions = 'second instructions';
    spec.tools = [tool('beta')];
    expect((await run({ goal: 'go', agent: spec, model, config }).result).status).toBe('completed');
    expect(seen.map((s) => s.system.split('\n')[0])).toEqual([
      'first instructions',
      'first instructions',
      'second instructions',
    ]);
    expect(seen.map((s) => s.tools)).toEqual([['alpha'], ['alpha'], ['beta']]);
  });
});
