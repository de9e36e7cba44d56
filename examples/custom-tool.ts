/**
 * A custom tool: declare its input with zod and its effects, and the agent can call it.
 * Bad arguments from the model come back to the model as a tool error; the run goes on.
 *
 *   npx tsx examples/custom-tool.ts
 */
import { z } from 'zod';
import { run } from 'cadre';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';

const inventory = new Map([
  ['apples', 12],
  ['pears', 3],
]);

const stockLevel = defineTool({
  name: 'stock_level',
  description: 'How many units of a product are in stock.',
  input: z.object({ product: z.string().min(1).describe('product name, e.g. "apples"') }),
  effects: 'read',
  run: ({ product }) => ({ product, units: inventory.get(product) ?? 0 }),
});

// The script first makes a mistake (a number instead of a name), sees the error, then corrects it.
const model = new ScriptedChatModel({
  replies: [
    { toolCalls: [{ name: 'stock_level', args: { product: 42 } }] },
    {
      toolCalls: [
        { name: 'stock_level', args: { product: 'apples' } },
        { name: 'stock_level', args: { product: 'pears' } },
      ],
    },
    'We have 12 apples and 3 pears in stock.',
  ],
});

const handle = run({
  goal: 'How many apples and pears do we have?',
  agent: { name: 'clerk', instructions: 'Answer stock questions with the stock_level tool.', tools: [stockLevel] },
  model,
});
handle.on('tool.result', (event) => console.log(`${event.ok ? 'ok ' : 'err'} ${event.tool}: ${event.output}`));
const result = await handle.result;
console.log(result.answer);
