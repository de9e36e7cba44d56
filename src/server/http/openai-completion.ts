import type { z } from '@hono/zod-openapi';
import { CadreError } from '../../core/index.js';
import type { RunResult } from '../../runtime/index.js';
import { approvalPrompt } from './openai-approval.js';
import type { ChatCompletionSchema, UsageSchema } from './openai-schemas.js';

/** How a run ended, as much of it as a chat completion shows. */
export type RunEnding = Pick<RunResult, 'runId' | 'status' | 'answer' | 'usage' | 'error' | 'approval'>;

/** The answer of a run that has one, with why it stopped: `length` when its budget ran out first. */
export interface RunAnswer {
  content: string;
  finishReason: 'stop' | 'length';
}

/**
 * The run's answer, or what a chat client is given instead: a run waiting for approval answers with
 * what it waits for and how to answer in the chat (see openai-approval.ts), a rejected one says so,
 * a stopped run is unavailable, a failed one fails.
 */
export function answerOf(ending: RunEnding): RunAnswer {
  const { runId, status, answer, error } = ending;
  if (answer !== null && (status === 'completed' || status === 'budget_exceeded'))
    return { content: answer, finishReason: status === 'completed' ? 'stop' : 'length' };
  if (status === 'awaiting_approval') return { content: approvalPrompt(runId, ending.approval), finishReason: 'stop' };
  if (status === 'rejected')
    return { content: `Stopped: the run was rejected${error ? ` (${error.message})` : ''}.`, finishReason: 'stop' };
  if (status === 'cancelled')
    throw new CadreError('unavailable', `Run ${runId} was stopped before it answered; it can be resumed`, {
      details: { code: 'run_cancelled' },
    });
  const why = error ? `: ${error.message}` : '';
  throw new CadreError('run_failed', `Run ${runId} ended ${status} without an answer${why}`, {
    kind: error?.kind ?? 'system',
    details: { code: status === 'budget_exceeded' ? 'budget_exceeded' : 'run_failed' },
  });
}

/** A run's token usage in OpenAI's names. */
export function usageOf(ending: Pick<RunResult, 'usage'>): z.infer<typeof UsageSchema> {
  return {
    prompt_tokens: ending.usage.inputTokens,
    completion_tokens: ending.usage.outputTokens,
    total_tokens: ending.usage.totalTokens,
  };
}

/** The `id` of the completion a run answers: the run's id, so the two can be matched. */
export const completionId = (runId: string) => `chatcmpl-${runId}`;

/** A finished run as a `chat.completion`. Throws what {@link answerOf} throws. */
export function chatCompletion(
  ending: RunEnding,
  model: string,
  created: number,
): z.infer<typeof ChatCompletionSchema> {
  const { content, finishReason } = answerOf(ending);
  return {
    id: completionId(ending.runId),
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null },
        finish_reason: finishReason,
        logprobs: null,
      },
    ],
    usage: usageOf(ending),
  };
}
