/**
 * A team: a plan of four tasks over three roles, two of them in parallel, a Reflexion-checked
 * coder, the task table at the end — and the same run resumed after a cancel. Runs offline on the
 * scripted model; drop `model` to let cadre use Ollama, OPENAI_API_KEY or ANTHROPIC_API_KEY, and
 * drop `planner` to let that model plan the goal itself.
 *
 *   npx tsx examples/team.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resume, run } from 'cadre';
import { ReflexionAgent, functionEvaluator, type RoleDefinition } from 'cadre/agents';
import { StaticPlanner } from 'cadre/planners';
import { createCalculatorTool, createCurrentTimeTool } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';

// One scripted model plays every role: it calls a tool when the task names one, then answers.
const model = new ScriptedChatModel({
  latencyMs: 50,
  respond: ({ task, toolResults, tools }) => {
    if (toolResults.length) return `Result: ${toolResults.map((r) => r.content).join('; ')}`;
    const expression = /`([^`]+)`/.exec(task)?.[1];
    if (expression && tools.includes('calculator'))
      return { toolCalls: [{ name: 'calculator', args: { expression } }] };
    if (/time/i.test(task) && tools.includes('current_time'))
      return { toolCalls: [{ name: 'current_time', args: { timeZone: 'UTC' } }] };
    return `Summary of the work:\n${task.split('## Task')[0]?.trim() ?? ''}`;
  },
});

const roles: RoleDefinition[] = [
  {
    name: 'coder',
    description: 'computes exactly',
    // Reflexion: the answer must contain a number, else the coder reflects and tries again.
    agent: new ReflexionAgent({
      actor: { name: 'coder', instructions: 'Compute with the calculator.', tools: [createCalculatorTool()] },
      evaluator: functionEvaluator((answer) => /\d/.test(answer) || 'State the number.'),
    }),
  },
  {
    name: 'researcher',
    description: 'looks things up',
    agent: { name: 'researcher', instructions: 'Find facts with your tools.', tools: [createCurrentTimeTool()] },
  },
  {
    name: 'writer',
    description: 'writes the answer',
    agent: { name: 'writer', instructions: 'Combine the results into a short answer.' },
  },
];

const planner = new StaticPlanner({
  goal: 'A status note with two figures and the time',
  tasks: [
    { id: 'revenue', title: 'Revenue', instruction: 'Work out `1200 * 12`.', role: 'coder', dependsOn: [] },
    { id: 'costs', title: 'Costs', instruction: 'Work out `830 * 12 + 450`.', role: 'coder', dependsOn: [] },
    { id: 'time', title: 'Time', instruction: 'Find the current time.', role: 'researcher', dependsOn: [] },
    {
      id: 'note',
      title: 'Status note',
      instruction: 'Write the status note.',
      role: 'writer',
      dependsOn: ['revenue', 'costs', 'time'],
    },
  ],
});

// Runs are stored in SQLite (default .cadre/cadre.db); a temporary one keeps this example tidy.
const config = { databasePath: join(mkdtempSync(join(tmpdir(), 'cadre-team-')), 'cadre.db'), concurrency: 2 };

const first = run({ goal: 'A status note with two figures and the time', roles, planner, model, config });
first.on('task.completed', (event) => {
  console.log(`done: ${event.taskId}`);
  if (event.taskId === 'revenue') first.cancel('stopping early to show resume'); // as if the process had died
});
const stopped = await first.result;
console.log(
  `first process: ${stopped.status}, finished ${stopped.tasks
    .filter((t) => t.status === 'completed')
    .map((t) => t.taskId)
    .join(', ')}`,
);

// resume() continues the run: finished tasks are read back, not run again.
const result = await resume(stopped.runId, { roles, planner, model, config }).result;
for (const task of result.tasks)
  console.log(
    `${task.taskId.padEnd(8)} ${task.role.padEnd(10)} ${task.status} (${task.attempts} attempt${task.attempts === 1 ? '' : 's'})`,
  );
console.log(`\n${result.status}:\n${result.answer}`);
