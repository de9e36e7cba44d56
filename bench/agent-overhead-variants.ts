import { HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import type { AIMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { END, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { ToolNode, createReactAgent } from '@langchain/langgraph/prebuilt';
import { z } from 'zod';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Budget, InMemoryStepJournal, RunEventStream, run } from 'cadre';
import { ReActAgent } from 'cadre/agents';
import { createFixedRouter } from 'cadre/models';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';

export type Variant = 'bare' | 'cadre' | 'run' | 'run-memory-db' | 'stategraph' | 'prebuilt';
// Tool-calling steps before the answer: 10 for the main table, 0 to measure a run's fixed cost.
const toolSteps = Number(process.env.BENCH_TOOL_STEPS ?? 10);

/** Ten steps that each call `add`, then an answer; stateless, so one model serves every run. */
const scripted = () =>
  new ScriptedChatModel({
    respond: ({ messages }) => {
      const done = messages.filter((m) => m.getType() === 'tool').length;
      return done < toolSteps ? { toolCalls: [{ name: 'add', args: { a: done, b: 1 }, id: `c${done}` }] } : 'done';
    },
  });
const addSchema = z.object({ a: z.number(), b: z.number() });
const lcAdd = tool(({ a, b }: { a: number; b: number }) => String(a + b), {
  name: 'add',
  description: 'adds',
  schema: addSchema,
});

export const variants: Record<Variant, () => Promise<() => Promise<unknown>>> = {
  async bare() {
    const model = scripted().bindTools([lcAdd]);
    return async () => {
      const messages: BaseMessage[] = [new SystemMessage('s'), new HumanMessage('go')];
      for (;;) {
        const reply = (await model.invoke(messages)) as AIMessage;
        messages.push(reply);
        if (!reply.tool_calls?.length) return reply.content;
        for (const call of reply.tool_calls) {
          const output = await lcAdd.invoke(call.args as { a: number; b: number });
          messages.push(new ToolMessage({ content: output, tool_call_id: call.id ?? '' }));
        }
      }
    };
  },
  async cadre() {
    const add = cadreAdd();
    const agent = new ReActAgent({ name: 'bench', instructions: 's', tools: [add], maxSteps: 20 });
    const router = createFixedRouter(scripted());
    let n = 0;
    return async () => {
      const runId = `run_${n++}`;
      const events = new RunEventStream(runId);
      events.on('*', () => undefined); // events on: a listener is attached
      const result = await agent.run(
        { id: 'main', instruction: 'go' },
        {
          runId,
          router,
          events,
          budget: new Budget({ maxSteps: 50 }),
          journal: new InMemoryStepJournal(),
          signal: new AbortController().signal,
        },
      );
      return result.answer;
    };
  },
  async run() {
    return runVariant(join(mkdtempSync(join(tmpdir(), 'cadre-bench-')), 'cadre.db'));
  },
  async 'run-memory-db'() {
    return runVariant(':memory:');
  },
  async stategraph() {
    const model = scripted().bindTools([lcAdd]);
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('agent', async (state: typeof MessagesAnnotation.State) => ({
        messages: [await model.invoke(state.messages)],
      }))
      .addNode('tools', new ToolNode([lcAdd]))
      .addEdge(START, 'agent')
      .addConditionalEdges('agent', (state) =>
        (state.messages.at(-1) as AIMessage).tool_calls?.length ? 'tools' : END,
      )
      .addEdge('tools', 'agent')
      .compile();
    return () => graph.invoke({ messages: [new SystemMessage('s'), new HumanMessage('go')] }, { recursionLimit: 100 });
  },
  async prebuilt() {
    const agent = createReactAgent({ llm: scripted(), tools: [lcAdd] });
    return () => agent.invoke({ messages: [new HumanMessage('go')] }, { recursionLimit: 100 });
  },
};

/** What users call: `run({ goal, agent, model })` with events listened to and the run durable in SQLite. */
function runVariant(databasePath: string): () => Promise<unknown> {
  const add = cadreAdd();
  const agent = { name: 'bench', instructions: 's', tools: [add], maxSteps: 20 };
  const model = scripted();
  const config = { databasePath, maxSteps: 50, ollamaHost: 'http://127.0.0.1:2' };
  return async () => {
    const handle = run({ goal: 'go', agent, model, config });
    handle.on('*', () => undefined); // events on: a listener is attached
    const result = await handle.result;
    if (result.status !== 'completed') throw new Error(`bench run ${result.status}: ${result.error?.message}`);
    return result.answer;
  };
}

/** The same `add` as a cadre tool. */
function cadreAdd() {
  return defineTool({
    name: 'add',
    description: 'adds',
    input: addSchema,
    effects: 'read',
    run: ({ a, b }) => String(a + b),
  });
}
