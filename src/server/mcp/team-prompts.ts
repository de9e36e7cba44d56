import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { RunStore } from './run-watch.js';

// Goal completion looks at this many of the newest runs.
const completionWindow = 200;

/**
 * One prompt per registered team, named after it, with a `goal` argument: its message asks the
 * client's model to run that team on the goal through `run_goal`. With a store, `goal` completes
 * from the goals of earlier runs.
 */
export function registerTeamPrompts(server: McpServer, options: { teams: readonly string[]; store?: RunStore }): void {
  // completable() marks the schema it is given: each prompt needs its own.
  const goal = () => z.string().min(1).max(20_000).describe('what the team should achieve, in plain words');
  const store = options.store;
  const completeGoal = async (typed: string) => {
    const prefix = typed.toLowerCase();
    const goals = store ? (await store.runs.list(completionWindow)).map((run) => run.goal) : [];
    return [...new Set(goals)].filter((g) => g.toLowerCase().startsWith(prefix));
  };
  for (const team of options.teams) {
    server.registerPrompt(
      team,
      {
        title: `Run the ${team} team`,
        description: `Plan and carry out a goal with cadre's registered team "${team}", through the run_goal tool`,
        argsSchema: { goal: store ? completable(goal(), completeGoal) : goal() },
      },
      (args) => ({
        description: `Run cadre's "${team}" team on a goal`,
        messages: [
          {
            role: 'user',
            content: {
              type: 'text',
              text: `Call the run_goal tool with team "${team}" and the goal below, then report the run's answer; if the run fails, say how it ended.\n\nGoal: ${args.goal}`,
            },
          },
        ],
      }),
    );
  }
}
