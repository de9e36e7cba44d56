/**
 * Quickstart: one ReAct agent with the calculator answers a goal while its events stream.
 * Runs offline on the scripted model; pass a real LangChain chat model (or omit `model` to let
 * cadre detect Ollama, OPENAI_API_KEY or ANTHROPIC_API_KEY) to use a real one.
 *
 *   npx tsx examples/quickstart.ts
 */
import { run } from 'cadre';
import { createCalculatorTool } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';

// A scripted stand-in for a model: first it asks for the calculator, then it answers from the result.
const model = new ScriptedChatModel({
  respond: ({ toolResults }) =>
    toolResults.length === 0
      ? { toolCalls: [{ name: 'calculator', args: { expression: '1234 * 5678' } }] }
      : `1234 × 5678 = ${toolResults[0]?.content}.`,
});

const handle = run({
  goal: 'What is 1234 times 5678?',
  agent: { name: 'math', instructions: 'Use the calculator for arithmetic.', tools: [createCalculatorTool()] },
  model,
});

for await (const event of handle.events()) {
  if (event.type === 'tool.result') console.log(`tool ${event.tool} -> ${event.output}`);
}
const result = await handle.result;
console.log(`${result.status}: ${result.answer} (${result.usage.totalTokens} tokens, $${result.costUsd.toFixed(4)})`);
