import { execFile } from 'node:child_process';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { invokeModel } from '../src/models/invoke-model.js';
import type { AgentTask } from './agent.js';

/** The outcome of checking an answer: `feedback` says what was wrong (or right). */
export interface Verdict {
  pass: boolean;
  feedback: string;
  /** A grade the evaluator may add; only `pass` decides. */
  score?: number;
}

/** What an evaluator judges: the task, one answer to it, and which attempt gave it. */
export interface EvaluationInput {
  task: AgentTask;
  answer: string;
  /** 1 for the first attempt. */
  attempt: number;
  signal?: AbortSignal;
}

/** Judges one answer to a task: the evaluation step of Reflexion. */
export type Evaluator = (input: EvaluationInput) => Verdict | Promise<Verdict>;

/** An evaluator from a plain function: `true` passes, `false` fails, a string fails with that feedback. */
export function functionEvaluator(
  fn: (answer: string, task: AgentTask) => boolean | string | Verdict | Promise<boolean | string | Verdict>,
): Evaluator {
  return async ({ answer, task }) => {
    const result = await fn(answer, task);
    if (typeof result === 'boolean')
      return { pass: result, feedback: result ? 'passed' : 'the answer did not pass the check' };
    if (typeof result === 'string') return { pass: false, feedback: result };
    return result;
  };
}

/** The executable {@link commandEvaluator} runs, with its arguments and working directory. */
export interface CommandEvaluatorOptions {
  /** The executable, run without a shell. */
  command: string;
  args?: string[];
  cwd?: string;
  /** Default 60 s. */
  timeoutMs?: number;
}

/**
 * Runs an executable (no shell, so the answer can never be interpreted as shell syntax) with the
 * answer on stdin and in CADRE_ANSWER; exit code 0 passes. Feedback is the tail of its output.
 */
export function commandEvaluator(options: CommandEvaluatorOptions): Evaluator {
  const { command, args = [], cwd, timeoutMs = 60_000 } = options;
  return ({ answer, signal }) =>
    new Promise<Verdict>((resolve) => {
      const child = execFile(
        command,
        args,
        { cwd, timeout: timeoutMs, signal, maxBuffer: 10 * 1024 * 1024, env: { ...process.env, CADRE_ANSWER: answer } },
        (error, stdout, stderr) => {
          const output = `${stdout}${stderr}`.slice(-2000);
          if (!error) return resolve({ pass: true, feedback: output || 'command exited 0' });
          const why = signal?.aborted
            ? 'cancelled'
            : error.killed
              ? `timed out after ${timeoutMs} ms`
              : `exit code ${String(error.code ?? 'unknown')}`;
          resolve({ pass: false, feedback: output ? `${why}\n${output}` : why });
        },
      );
      // A command that does not read stdin closes it early; that is not a failure of the answer.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(answer);
    });
}

/** The model {@link llmJudgeEvaluator} asks, and what it judges against. */
export interface LlmJudgeOptions {
  model: BaseChatModel;
  /** What a good answer must satisfy. */
  criteria?: string;
}

/** Asks a model to judge the answer and reply with JSON `{"pass": boolean, "feedback": string}`. */
export function llmJudgeEvaluator(options: LlmJudgeOptions): Evaluator {
  return async ({ task, answer, signal }) => {
    const prompt = [
      `Task:\n${task.instruction}`,
      options.criteria ? `Criteria:\n${options.criteria}` : '',
      `Answer to judge:\n${answer}`,
      'Reply with only JSON: {"pass": true or false, "feedback": "what is wrong or missing, briefly"}',
    ]
      .filter(Boolean)
      .join('\n\n');
    const reply = await invokeModel(
      options.model,
      [new SystemMessage('You are a strict, fair judge of answers.'), new HumanMessage(prompt)],
      { signal },
    );
    const text = typeof reply.content === 'string' ? reply.content : JSON.stringify(reply.content);
    return parseVerdict(text) ?? { pass: false, feedback: `judge reply was not JSON: ${text.slice(0, 500)}` };
  };
}

/** Reads a verdict from a reply that may wrap the JSON in a code fence or prose. */
function parseVerdict(text: string): Verdict | undefined {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text)?.[1];
  const candidates = [fenced, text, text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)];
  for (const candidate of candidates) {
    if (!candidate?.trim()) continue;
    try {
      const value = JSON.parse(candidate) as { pass?: unknown; feedback?: unknown; score?: unknown };
      if (typeof value.pass !== 'boolean') continue;
      return {
        pass: value.pass,
        feedback: typeof value.feedback === 'string' ? value.feedback : '',
        ...(typeof value.score === 'number' ? { score: value.score } : {}),
      };
    } catch {
      // Not JSON in this form; try the next.
    }
  }
  return undefined;
}
