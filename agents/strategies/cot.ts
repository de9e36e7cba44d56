import type { Agent, AgentContext, AgentTask, TaskResult } from '../agent.js';
import { checkStrategyOptions, extractAnswer, strategyShape, type StrategyOptions } from './strategy-options.js';
import { StrategyRun, taskText } from './strategy-run.js';

/** Chain-of-thought's options: those of every strategy. */
export type CotOptions = StrategyOptions;

/** The default system prompt of chain-of-thought and of self-consistency's samples. */
export const cotInstructions =
  'Think step by step, writing out your reasoning. Then give your final answer on its own last line, as "Answer: <answer>".';

/**
 * Chain-of-thought (Wei et al. 2022): one reasoning pass, its final answer read from the reply's
 * `Answer:` line (or by `extract`). Routed as `reason` unless the task or options say otherwise.
 */
export function cot(options: CotOptions = {}): Agent {
  checkStrategyOptions('cot', strategyShape({}), options);
  const extract = options.extract ?? extractAnswer;
  return {
    name: options.name ?? 'cot',
    ...(options.role ? { role: options.role } : {}),
    async run(task: AgentTask, ctx: AgentContext): Promise<TaskResult> {
      const run = new StrategyRun(task, ctx, 'cot', options.model);
      const reply = await run.call({
        key: 'cot',
        kind: options.taskKind ?? task.kind ?? 'reason',
        system: options.instructions ?? cotInstructions,
        prompt: taskText(task),
        ...(task.checkAnswer ? { checkAnswer: task.checkAnswer } : {}),
      });
      // A reply without an answer line is its own answer: the reasoning is all there is.
      const answer = extract(reply.content) ?? reply.content.trim();
      run.emit({ type: 'strategy.decided', answer, calls: run.calls });
      return run.result(answer);
    },
  };
}
