/**
 * The registry the secrets-in-logs test serves with `cadre serve --app`: runs whose goal (or whose
 * failure) carries whatever the caller sent, so that a secret in a goal reaches events and logs.
 *   parrot        an agent that answers with the goal it was given
 *   unplannable   a team whose planner fails with the goal in its error (logged by the run)
 *   exploding     a team that cannot be built: its error names CADRE_TEST_SECRET (logged by the server)
 */
import { defineApp } from '../../../src/app/index.js';
import { ScriptedChatModel } from '../../../src/testing/index.js';

const worker = { name: 'worker', description: 'works', agent: { name: 'worker', instructions: 'Work.' } };

export default defineApp({
  agents: {
    parrot: () => ({
      agent: { name: 'parrot', instructions: 'Repeat the request.' },
      model: new ScriptedChatModel({ respond: ({ task }) => `you said: ${task}` }),
    }),
  },
  teams: {
    unplannable: () => ({
      roles: [worker],
      planner: {
        plan: (goal: string) => Promise.reject(new Error(`the planner gave up on: ${goal}`)),
      },
      model: new ScriptedChatModel({ respond: () => 'unused' }),
    }),
    exploding: () => {
      throw new Error(`cannot reach the vault with ${process.env.CADRE_TEST_SECRET ?? 'nothing'}`);
    },
  },
});
