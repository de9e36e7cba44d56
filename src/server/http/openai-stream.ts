import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Logger, PlanGraphInfo } from '../../core/index.js';
import type { RunHandle } from '../../runtime/index.js';
import { answerOf, completionId, usageOf } from './openai-completion.js';
import { openAIError } from './openai-errors.js';

/** How a run's answer is streamed as `chat.completion.chunk`s. */
export interface CompletionStreamOptions {
  handle: RunHandle;
  model: string;
  created: number;
  /** `stream_options.include_usage`: a last chunk with the run's usage and no choices. */
  includeUsage: boolean;
  /** A comment line keeps the stream open through proxies this often while the run works. */
  heartbeatMs: number;
  logger?: Logger;
}

/** A final answer that did not stream (several final tasks, or a reply given whole) goes out in pieces this long. */
const pieceLength = 64;

/**
 * Streams a run's answer as OpenAI `chat.completion.chunk` SSE frames, fed by the run's events: the
 * text of the task the answer comes from (the plan's only task nothing builds on) as its model
 * streams it (`model.delta`), its steps apart by a blank line; when none streamed, the answer in a
 * few pieces once the run ends. Then the finish, the usage when asked for, and `data: [DONE]`. A run
 * that ends without an answer sends OpenAI's error frame, which OpenAI clients raise.
 */
export function streamCompletion(c: Context, options: CompletionStreamOptions): Response {
  const { handle, model, created, includeUsage } = options;
  const chunk = (delta: Record<string, string>, finishReason: string | null = null) =>
    JSON.stringify({
      id: completionId(handle.runId),
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
      ...(includeUsage ? { usage: null } : {}),
    });
  return streamSSE(c, async (stream) => {
    let closed = false;
    stream.onAbort(() => void (closed = true));
    const send = (data: string) => (closed ? Promise.resolve() : stream.writeSSE({ data }));
    const heartbeat = setInterval(() => void (closed || stream.write(': keep-alive\n\n')), options.heartbeatMs);
    // Listening starts before anything else is awaited: the model streams only while someone listens.
    const events = handle.events(1, { transient: true });
    const first = events.next();
    first.catch(() => undefined); // awaited below; a failure before then is not unhandled
    let finalTask: string | undefined;
    let step: number | undefined;
    try {
      // The first chunk goes out before the run's first event, as OpenAI's does.
      await send(chunk({ role: 'assistant', content: '' }));
      for (let next = await first; !next.done && !closed; next = await events.next()) {
        const event = next.value;
        if (event.type === 'plan.created' || event.type === 'plan.revised') finalTask = sinkOf(event.graph);
        if (event.type !== 'model.delta' || event.taskId !== finalTask || !event.text) continue;
        const gap = step !== undefined && step !== event.step ? '\n\n' : '';
        step = event.step;
        await send(chunk({ content: gap + event.text }));
      }
      // A client that left stops only its stream: the run goes on (resumable, visible on GET /runs).
      if (closed) return;
      const result = await handle.result;
      try {
        const { content, finishReason } = answerOf(result);
        if (step === undefined)
          for (let at = 0; at < content.length; at += pieceLength)
            await send(chunk({ content: content.slice(at, at + pieceLength) }));
        await send(chunk({}, finishReason));
        if (includeUsage)
          await send(
            JSON.stringify({
              id: completionId(handle.runId),
              object: 'chat.completion.chunk',
              created,
              model,
              choices: [],
              usage: usageOf(result),
            }),
          );
      } catch (error) {
        await send(JSON.stringify(openAIError(error, options.logger).body));
      }
      await send('[DONE]');
    } catch (error) {
      // The run's events could not be read: the client gets OpenAI's error frame, not a silent end.
      await send(JSON.stringify(openAIError(error, options.logger).body)).catch(() => undefined);
    } finally {
      clearInterval(heartbeat);
      void events.return(undefined).catch(() => undefined);
    }
  });
}

/** The task a plan's answer comes from: its only task nothing else depends on (none when several are). */
function sinkOf(graph: PlanGraphInfo): string | undefined {
  const sinks = graph.tasks.filter((task) => !graph.tasks.some((other) => other.dependsOn.includes(task.id)));
  return sinks.length === 1 ? sinks[0]!.id : undefined;
}
