/**
 * Reasoning strategies as agents: chain-of-thought, self-consistency and Tree of Thoughts on one
 * Game of 24 puzzle, each as the agent of a run. Runs offline on a simulated model of known quality
 * (`game24Model`: poor at answering in one go, good at single steps, like GPT-4 in the Tree of
 * Thoughts paper; a stand-in, not a real model); pass a LangChain chat
 * model as `model` (or drop it to let cadre detect Ollama or an API key) to try a real one.
 *
 *   npx tsx examples/strategies.ts
 */
import { run } from 'cadre';
import { cot, selfConsistency, treeOfThoughts, type Agent } from 'cadre/agents';
import { checkGame24, game24Model, game24Task } from 'cadre/testing';

const numbers = [4, 9, 10, 13];
const strategies: Array<[string, Agent]> = [
  ['cot', cot()],
  ['self-consistency (5)', selfConsistency({ samples: 5 })],
  ['tree of thoughts (b=5)', treeOfThoughts({ breadth: 5 })],
];

console.log(
  `Puzzle: ${numbers.join(' ')}. Simulated model: right in one go 10% of the time, offers a useful next step 90%.`,
);
for (const [label, agent] of strategies) {
  const handle = run({
    goal: game24Task(numbers),
    agent,
    model: game24Model({ accuracy: 0.1, proposeAccuracy: 0.9, valueAccuracy: 0.9, seed: 7 }),
    // A tree search makes dozens of model calls; the default budget is 20 a run.
    config: { maxSteps: 300 },
  });
  const tree = { kept: 0, pruned: 0 };
  for await (const event of handle.events()) {
    // Strategy events show the search: each sample or thought, and whether it was kept.
    const e = event as { type: string; status?: string; confidence?: number };
    if (e.type === 'strategy.node' && e.status === 'pruned') tree.pruned += 1;
    else if (e.type === 'strategy.node') tree.kept += 1;
    if (e.type === 'strategy.decided' && e.confidence !== undefined)
      console.log(`  ${label}: the vote's winner had ${Math.round(e.confidence * 100)}% of the votes`);
  }
  const result = await handle.result;
  const answer = result.answer ?? '(none)';
  const verdict = result.status === 'completed' && checkGame24(answer, numbers) ? 'right' : 'wrong';
  console.log(
    `${label}: ${result.status}, ${answer} -> ${verdict}, ${result.steps} model call${result.steps === 1 ? '' : 's'}`,
  );
  if (tree.pruned) console.log(`  ${label}: ${tree.kept} thoughts kept, ${tree.pruned} pruned`);
}
