/**
 * The registry the jobs bench's worker processes load (compiled next to the results):
 *   zero  answers at once on a zero-latency scripted model: a job's cost is cadre's alone
 *   slow  one model call that takes a minute: a job that is still running when its worker is killed
 */
import { defineApp } from 'cadre';
import { ScriptedChatModel } from 'cadre/testing';

export default defineApp({
  agents: {
    zero: {
      agent: { name: 'zero', instructions: 'Answer.' },
      model: new ScriptedChatModel({ respond: () => 'done' }),
    },
    slow: {
      agent: { name: 'slow', instructions: 'Answer.' },
      model: new ScriptedChatModel({ respond: () => 'done', latencyMs: 60_000 }),
    },
  },
});
