import type { AIMessage, BaseMessage } from '@langchain/core/messages';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Each variant imports what it uses when it is built, so a child process measuring one variant's
// peak RSS holds that variant's modules only (cadre's run() does not load LangGraph, for one).

/** Peak RSS is read after this many runs (warm-up included), as the target is stated. */
export const rssAfterRuns = 220;

export type Variant = 'bare' | 'cadre' | 'run' | 'run-memory-db' | 'openai-agents' | 'stategraph' | 'prebuilt';
// Tool-calling steps before the answer: 10 for the main table, 0 to measure a run's fixed cost.
const toolSteps = Number(process.env.BENCH_TOOL_STEPS ?? 10);

/** Ten steps that each call `add`, then an answer; stateless, so one model serves every run. */
async function scripted() {
  const { ScriptedChatModel } = await import('cadre/testing');
  return new ScriptedChatModel({
    respond: ({ messages }) => {
      const done = messages.filter((m) => m.getType() === 'tool').length;
      return done < toolSteps ? { toolCalls: [{ name: 'add', args: { a: done, b: 1 }, id: `c${done}` }] } : 'done';
    },
  });
}

/** LangChain's message classes and `add` as a LangChain tool. */
async function langchain() {
  const [messages, { tool }, { z }] = await Promise.all([
    import('@langchain/core/messages'),
    import('@langchain/core/tools'),
    import('zod'),
  ]);
  const add = tool(({ a, b }: { a: number; b: number }) => String(a + b), {
    name: 'add',
    description: 'adds',
    schema: z.object({ a: z.number(), b: z.number() }),
  });
  return { ...messages, add };
}

/** The same `add` as a cadre tool. */
async function cadreAdd() {
  const [{ defineTool }, { z }] = await Promise.all([import('cadre/tools'), import('zod')]);
  return defineTool({
    name: 'add',
    description: 'adds',
    input: z.object({ a: z.number(), b: z.number() }),
    effects: 'read',
    run: ({ a, b }) => String(a + b),
  });
}

export const variants: Record<Variant, () => Promise<() => Promise<unknown>>> = {
  async bare() {
    const { HumanMessage, SystemMessage, ToolMessage, add } = await langchain();
    const model = (await scripted()).bindTools([add]);
    return async () => {
      const messages: BaseMessage[] = [new SystemMessage('s'), new HumanMessage('go')];
      for (;;) {
        const reply = (await model.invoke(messages)) as AIMessage;
        messages.push(reply);
        if (!reply.tool_calls?.length) return reply.content;
        for (const call of reply.tool_calls) {
          const output = await add.invoke(call.args as { a: number; b: number });
          messages.push(new ToolMessage({ content: output, tool_call_id: call.id ?? '' }));
        }
      }
    };
  },
  async cadre() {
    const [{ Budget, InMemoryStepJournal, RunEventStream }, { ReActAgent }, { createFixedRouter }] = await Promise.all([
      import('cadre'),
      import('cadre/agents'),
      import('cadre/models'),
    ]);
    const agent = new ReActAgent({ name: 'bench', instructions: 's', tools: [await cadreAdd()], maxSteps: 20 });
    const router = createFixedRouter(await scripted());
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
  // The OpenAI Agents SDK's own loop (`Runner.run`, tracing off) over a model of its own interface
  // that answers as the scripted model does: its fastest path, for the same 10 steps and an answer.
  async 'openai-agents'() {
    const [{ Agent, Runner, Usage, tool }, { z }] = await Promise.all([import('@openai/agents-core'), import('zod')]);
    const add = tool({
      name: 'add',
      description: 'adds',
      parameters: z.object({ a: z.number(), b: z.number() }),
      execute: ({ a, b }) => String(a + b),
    });
    const model = {
      async getResponse(request: { input: string | { type?: string }[] }) {
        const done =
          typeof request.input === 'string' ? 0 : request.input.filter((i) => i.type === 'function_call_result').length;
        const output =
          done < toolSteps
            ? [
                {
                  type: 'function_call' as const,
                  callId: `c${done}`,
                  name: 'add',
                  arguments: JSON.stringify({ a: done, b: 1 }),
                },
              ]
            : [
                {
                  type: 'message' as const,
                  role: 'assistant' as const,
                  status: 'completed' as const,
                  content: [{ type: 'output_text' as const, text: 'done' }],
                },
              ];
        return { usage: new Usage(), output };
      },
      getStreamedResponse(): never {
        throw new Error('not streamed');
      },
    };
    const agent = new Agent({ name: 'bench', instructions: 's', tools: [add], model });
    const runner = new Runner({ tracingDisabled: true });
    return async () => (await runner.run(agent, 'go', { maxTurns: 50 })).finalOutput;
  },
  async stategraph() {
    const { HumanMessage, SystemMessage, add } = await langchain();
    const { END, MessagesAnnotation, START, StateGraph } = await import('@langchain/langgraph');
    const { ToolNode } = await import('@langchain/langgraph/prebuilt');
    const model = (await scripted()).bindTools([add]);
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('agent', async (state: typeof MessagesAnnotation.State) => ({
        messages: [await model.invoke(state.messages)],
      }))
      .addNode('tools', new ToolNode([add]))
      .addEdge(START, 'agent')
      .addConditionalEdges('agent', (state) =>
        (state.messages.at(-1) as AIMessage).tool_calls?.length ? 'tools' : END,
      )
      .addEdge('tools', 'agent')
      .compile();
    return () => graph.invoke({ messages: [new SystemMessage('s'), new HumanMessage('go')] }, { recursionLimit: 100 });
  },
  async prebuilt() {
    const { HumanMessage, add } = await langchain();
    const { createReactAgent } = await import('@langchain/langgraph/prebuilt');
    const agent = createReactAgent({ llm: await scripted(), tools: [add] });
    return () => agent.invoke({ messages: [new HumanMessage('go')] }, { recursionLimit: 100 });
  },
};

/** What users call: `run({ goal, agent, model })` with events listened to and the run durable in SQLite. */
async function runVariant(databasePath: string): Promise<() => Promise<unknown>> {
  const { run } = await import('cadre');
  const agent = { name: 'bench', instructions: 's', tools: [await cadreAdd()], maxSteps: 20 };
  const model = await scripted();
  const config = { databasePath, maxSteps: 50, ollamaHost: 'http://127.0.0.1:2' };
  return async () => {
    const handle = run({ goal: 'go', agent, model, config });
    handle.on('*', () => undefined); // events on: a listener is attached
    const result = await handle.result;
    if (result.status !== 'completed') throw new Error(`bench run ${result.status}: ${result.error?.message}`);
    return result.answer;
  };
}
