import { describe, expect, it } from 'vitest';
import { CadreError, InMemoryStepJournal, type CadreEvent } from 'cadre';
import { ReflexionAgent, commandEvaluator, functionEvaluator, llmJudgeEvaluator } from 'cadre/agents';
import { InMemoryEpisodeStore } from 'cadre/memory';
import { ScriptedChatModel } from 'cadre/testing';
import { agentContext } from '../fixtures/agent-context.js';

const context = (model: ScriptedChatModel, journal = new InMemoryStepJournal(), runId = 'run_r') =>
  agentContext(model, { journal, runId });

const lesson = 'Give the number as digits only.';
const isReflection = (task: string) => task.includes('Why it failed');
/** Answers "forty-two" until it has seen the lesson, then "42"; writes the lesson when asked to reflect. */
const learner = (seen: string[] = []) =>
  new ScriptedChatModel({
    respond: ({ task, messages }) => {
      seen.push(...messages.map((m) => String(m.content)));
      if (isReflection(task)) return lesson;
      return messages.some((m) => String(m.content).includes(lesson)) ? '42' : 'forty-two';
    },
  });
const digitsOnly = functionEvaluator((answer) => /^\d+$/.test(answer) || `"${answer}" is not digits`);
const task = { id: 'calc', instruction: 'What is six times seven?' };

describe('ReflexionAgent', () => {
  it('reflects on a failed attempt, stores the lesson, and passes on the next attempt', async () => {
    const model = learner();
    const episodes = new InMemoryEpisodeStore();
    const ctx = context(model);
    const seen: CadreEvent[] = [];
    ctx.events.on('*', (e) => seen.push(e));
    const agent = new ReflexionAgent({
      actor: { name: 'solver', instructions: 'Answer.' },
      evaluator: digitsOnly,
      episodes,
    });

    const result = await agent.run(task, ctx);

    expect(result.answer).toBe('42');
    expect(result.steps).toBe(3); // attempt 1, reflection, attempt 2
    expect(model.calls).toBe(3);
    const reflected = seen.find((e) => e.type === 'task.reflected');
    expect(reflected).toMatchObject({ taskId: 'calc', attempt: 1, feedback: '"forty-two" is not digits', lesson });
    expect(await episodes.recall('six times seven', { lessonsOnly: true })).toMatchObject([
      { lesson, outcome: 'failure', id: 'run_r:calc:1' },
    ]);
    expect(ctx.budget.spend().steps).toBe(3);
  });

  it('recalls a stored lesson for a similar task before the first attempt', async () => {
    const episodes = new InMemoryEpisodeStore();
    await episodes.add({
      id: 'old',
      runId: 'run_old',
      taskId: 'x',
      task: 'What is five times seven?',
      outcome: 'failure',
      lesson,
      importance: 0.7,
      createdAt: 1,
    });
    const prompts: string[] = [];
    const model = learner(prompts);
    const ctx = context(model);
    const seen: CadreEvent[] = [];
    ctx.events.on('*', (e) => seen.push(e));
    const result = await new ReflexionAgent({
      actor: { name: 'solver', instructions: 'Answer.' },
      evaluator: digitsOnly,
      episodes,
    }).run(task, ctx);

    expect(result.answer).toBe('42');
    expect(model.calls).toBe(1);
    expect(
      prompts.some((p) => p.includes('Lessons from earlier attempts at similar tasks:') && p.includes(lesson)),
    ).toBe(true);
    expect(seen.find((e) => e.type === 'memory.recalled')).toMatchObject({
      taskId: 'calc',
      kind: 'lessons',
      items: [lesson],
    });
  });

  it('throws task_failed when every attempt fails', async () => {
    const model = new ScriptedChatModel({ respond: ({ task: t }) => (isReflection(t) ? 'Try harder.' : 'nope') });
    const agent = new ReflexionAgent({
      actor: { name: 'solver', instructions: 'Answer.' },
      evaluator: digitsOnly,
      maxAttempts: 2,
    });
    const error = await agent.run(task, context(model)).catch((e: unknown) => e);
    expect(CadreError.isInstance(error) && error.code).toBe('task_failed');
    expect((error as CadreError).details).toMatchObject({ attempts: 2, feedback: '"nope" is not digits' });
    expect(model.calls).toBe(3); // two attempts and one reflection between them
  });

  it('judges with a command that reads the answer on stdin', async () => {
    const script =
      "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{console.log(s.includes('42')?'ok':'missing 42');process.exit(s.includes('42')&&process.env.CADRE_ANSWER===s?0:1)})";
    const evaluator = commandEvaluator({ command: process.execPath, args: ['-e', script] });
    expect(await evaluator({ task, answer: 'it is 42', attempt: 1 })).toMatchObject({ pass: true });
    const failed = await evaluator({ task, answer: 'forty-two', attempt: 1 });
    expect(failed.pass).toBe(false);
    expect(failed.feedback).toMatch(/missing 42/);
  });

  it('judges with a model that replies in JSON, fenced or not', async () => {
    const judge = new ScriptedChatModel({
      replies: [
        '```json\n{"pass": false, "feedback": "show the working"}\n```',
        '{"pass": true, "feedback": "fine"}',
        'I think it is fine',
      ],
    });
    const evaluator = llmJudgeEvaluator({ model: judge, criteria: 'Show the working.' });
    expect(await evaluator({ task, answer: '42', attempt: 1 })).toEqual({ pass: false, feedback: 'show the working' });
    expect(await evaluator({ task, answer: '6*7=42', attempt: 2 })).toEqual({ pass: true, feedback: 'fine' });
    expect((await evaluator({ task, answer: '42', attempt: 3 })).feedback).toMatch(/^judge reply was not JSON/);
  });

  it('replays attempts and reflections from the journal without calling the model again', async () => {
    const journal = new InMemoryStepJournal();
    const actor = { name: 'solver', instructions: 'Answer.' };
    const first = await new ReflexionAgent({ actor, evaluator: digitsOnly }).run(task, context(learner(), journal));

    const model = learner();
    const second = await new ReflexionAgent({ actor, evaluator: digitsOnly }).run(task, context(model, journal));

    expect(model.calls).toBe(0);
    expect(second.answer).toBe(first.answer);
    expect(second.replayedSteps).toBe(3);
  });
});
