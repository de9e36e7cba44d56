import type { BaseMessage } from '@langchain/core/messages';
import { describe, expect, it } from 'vitest';
import { Budget, InMemoryStepJournal, RunEventStream, type CadreEvent, type CadreEventOf } from 'cadre';
import { RoleRegistry, createDelegateTool, type AgentContext } from 'cadre/agents';
import { createFixedRouter } from 'cadre/models';
import { ScriptedChatModel, type ScriptContext, type ScriptedReply } from 'cadre/testing';
import { delegationDepth } from '../../agents/delegate-tool.js';

const leadInstructions = 'You are the LEAD. Split the work and delegate to your teammates.';
const expertInstructions = 'You are the EXPERT. Answer the question you are given.';

type Script = (context: ScriptContext) => ScriptedReply;

const systemText = (messages: readonly BaseMessage[]): string => {
  const content = messages[0]?.content;
  return typeof content === 'string' ? content : JSON.stringify(content);
};

/** One model for both roles (they share the router): the system message says who is asking. */
function teamModel(scripts: { lead: Script; expert: Script }): ScriptedChatModel {
  return new ScriptedChatModel({
    respond: (ctx) => {
      const system = systemText(ctx.messages);
      if (system.includes('You are the LEAD')) return scripts.lead(ctx);
      if (system.includes('You are the EXPERT')) return scripts.expert(ctx);
      throw new Error(`unexpected system message: ${system}`);
    },
  });
}

interface Team {
  roles: RoleRegistry;
  ctx: AgentContext & { events: RunEventStream };
  journal: InMemoryStepJournal;
  events: CadreEvent[];
}

/** Builds the registry the way src/runtime/team.ts does: the delegate tool resolves roles and context lazily. */
function team(model: ScriptedChatModel, options: { maxDepth?: number } = {}): Team {
  const runId = 'run_team';
  const journal = new InMemoryStepJournal();
  const ctx = {
    runId,
    router: createFixedRouter(model),
    events: new RunEventStream(runId),
    budget: new Budget({ maxSteps: 20 }),
    journal,
    signal: new AbortController().signal,
  };
  const delegate = createDelegateTool({ roles: () => roles, context: () => ctx, ...options });
  const roles: RoleRegistry = new RoleRegistry(
    [
      { name: 'lead', description: 'coordinates the work', agent: { name: 'lead', instructions: leadInstructions } },
      { name: 'expert', description: 'knows arithmetic', agent: { name: 'expert', instructions: expertInstructions } },
    ],
    { extraTools: [delegate] },
  );
  const events: CadreEvent[] = [];
  ctx.events.on('*', (e) => events.push(e));
  return { roles, ctx, journal, events };
}

const ofType = <T extends CadreEvent['type']>(events: CadreEvent[], type: T) =>
  events.filter((e): e is CadreEventOf<T> => e.type === type);

describe('delegate tool', () => {
  it('lets the lead ask the expert and answers from its reply, journaling the sub-task under <task>><call>', async () => {
    const seenByExpert: string[] = [];
    const model = teamModel({
      lead: ({ toolResults }) =>
        toolResults.length === 0
          ? { toolCalls: [{ id: 'call_ask', name: 'delegate', args: { role: 'expert', question: 'What is 6*7?' } }] }
          : `The expert says ${toolResults[0]?.content}`,
      expert: ({ task, tools }) => {
        seenByExpert.push(task);
        // Spec roles get the run's delegate tool too.
        expect(tools).toContain('delegate');
        return '42';
      },
    });
    const { roles, ctx, journal, events } = team(model);

    const result = await roles.get('lead').run({ id: 't1', instruction: 'Find out what 6*7 is.' }, ctx);

    expect(result.answer).toBe('The expert says 42');
    expect(model.calls).toBe(3);
    expect(seenByExpert).toEqual(['What is 6*7?']);

    const subTask = 't1>call_ask';
    expect(delegationDepth('t1')).toBe(0);
    expect(delegationDepth(subTask)).toBe(1);
    const delegated = ofType(events, 'task.delegated');
    expect(delegated).toHaveLength(1);
    expect(delegated[0]).toMatchObject({ taskId: subTask, role: 'expert', question: 'What is 6*7?', depth: 1 });

    // The expert's steps are journaled under the sub-task id, apart from the lead's.
    const expertSteps = journal.replay('run_team', subTask);
    expect(expertSteps).toHaveLength(1);
    expect(expertSteps[0]).toMatchObject({ kind: 'model', taskId: subTask, content: '42', toolCalls: [] });
    const leadSteps = journal.replay('run_team', 't1');
    expect(leadSteps.map((s) => s.kind)).toEqual(['model', 'tool', 'model']);
    expect(leadSteps[1]).toMatchObject({ kind: 'tool', callId: 'call_ask', tool: 'delegate', ok: true, output: '42' });

    const toolResults = ofType(events, 'tool.result');
    expect(toolResults).toHaveLength(1);
    expect(toolResults[0]).toMatchObject({
      taskId: 't1',
      callId: 'call_ask',
      tool: 'delegate',
      ok: true,
      output: '42',
    });
    expect(ofType(events, 'model.response').map((e) => e.taskId)).toEqual(['t1', subTask, 't1']);
    // The sub-question spent the same budget: three model steps in all.
    expect(ctx.budget.spend().steps).toBe(3);
  });

  it('refuses delegation beyond maxDepth as a tool error, and the run still finishes', async () => {
    const model = teamModel({
      lead: ({ toolResults }) =>
        toolResults.length === 0
          ? { toolCalls: [{ id: 'call_ask', name: 'delegate', args: { role: 'expert', question: 'What is 6*7?' } }] }
          : `The expert says ${toolResults[0]?.content}`,
      expert: ({ toolResults }) =>
        toolResults.length === 0
          ? {
              toolCalls: [
                { id: 'call_nested', name: 'delegate', args: { role: 'lead', question: 'Can you check 6*7?' } },
              ],
            }
          : '42',
    });
    const { roles, ctx, journal, events } = team(model, { maxDepth: 1 });

    const result = await roles.get('lead').run({ id: 't1', instruction: 'Find out what 6*7 is.' }, ctx);

    expect(result.answer).toBe('The expert says 42');
    const nested = ofType(events, 'tool.result').find((e) => e.callId === 'call_nested');
    expect(nested).toBeDefined();
    expect(nested).toMatchObject({
      tool: 'delegate',
      taskId: 't1>call_ask',
      ok: false,
      error: { code: 'delegation_failed' },
    });
    expect(nested!.output).toMatch(/limited to 1 level/);
    // Only the first delegation happened.
    expect(ofType(events, 'task.delegated').map((e) => e.depth)).toEqual([1]);
    const expertSteps = journal.replay('run_team', 't1>call_ask');
    expect(expertSteps.map((s) => s.kind)).toEqual(['model', 'tool', 'model']);
    expect(expertSteps[1]).toMatchObject({ kind: 'tool', callId: 'call_nested', ok: false });
  });

  it('answers an unknown role with a tool error naming the known roles', async () => {
    const model = teamModel({
      lead: ({ toolResults }) =>
        toolResults.length === 0
          ? { toolCalls: [{ id: 'call_bad', name: 'delegate', args: { role: 'wizard', question: 'What is 6*7?' } }] }
          : `No wizard: ${toolResults[0]?.content}`,
      expert: () => {
        throw new Error('the expert must not be asked');
      },
    });
    const { roles, ctx, events } = team(model);

    const result = await roles.get('lead').run({ id: 't1', instruction: 'Ask the wizard.' }, ctx);

    const failed = ofType(events, 'tool.result').find((e) => e.callId === 'call_bad');
    expect(failed).toMatchObject({ tool: 'delegate', ok: false, error: { code: 'input_invalid' } });
    expect(failed!.output).toContain('wizard');
    expect(failed!.output).toContain('lead, expert');
    expect(result.answer).toContain('lead, expert');
    expect(ofType(events, 'task.delegated')).toHaveLength(0);
    expect(model.calls).toBe(2);
  });
});
