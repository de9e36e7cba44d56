import type { Context } from 'hono';
import type { CadreEvent, Logger, PlanGraphInfo } from '../../core/index.js';
import type { RunHandle } from '../../runtime/index.js';
import { answerOf, completionId, usageOf } from './openai-completion.js';
import { openAIError } from './openai-errors.js';
import { openSseBatch, type SseBatch } from './sse-batch.js';

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

/** One SSE frame with `data` as its only field (JSON holds no line break, so one line is enough). */
const frame = (data: string) => `data: ${data}\n\n`;

/**
 * Streams a run's answer as OpenAI `chat.completion.chunk` SSE frames, fed by the run's events: the
 * text of the task the answer comes from (the plan's only task nothing builds on) as its model
 * streams it (`model.delta`), its steps apart by a blank line; when none streamed, the answer in a
 * few pieces once the run ends. Then the finish, the usage when asked for, and `data: [DONE]`. A run
 * that ends without an answer sends OpenAI's error frame, which OpenAI clients raise.
 * Served by Node, the frames go straight to its response, those ready at one moment in one write.
 */
export function streamCompletion(c: Context, options: CompletionStreamOptions): Response {
  // Listening starts before anything else: the model streams only while someone listens.
  const events = options.handle.events(1, { transient: true });
  const first = events.next();
  first.catch(() => undefined); // awaited in `sendAnswer`; a failure before then is not unhandled
  const out = openSseBatch(c);
  void sendAnswer(out, options, first, events);
  return out.response;
}

/** Sends the chunks as the run's events come, then how it ended; stops when the client goes away. */
async function sendAnswer(
  out: SseBatch,
  options: CompletionStreamOptions,
  first: Promise<IteratorResult<CadreEvent>>,
  events: AsyncGenerator<CadreEvent, void, undefined>,
): Promise<void> {
  const { handle, model, created, includeUsage } = options;
  const chunk = (delta: Record<string, string>, finishReason: string | null = null) =>
    frame(
      JSON.stringify({
        id: completionId(handle.runId),
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
        ...(includeUsage ? { usage: null } : {}),
      }),
    );
  const heartbeat = setInterval(() => void (out.blocked || out.send(': keep-alive\n\n')), options.heartbeatMs);
  let finalTask: string | undefined;
  let step: number | undefined;
  try {
    // The first chunk goes out before the run's first event, as OpenAI's does.
    out.send(chunk({ role: 'assistant', content: '' }));
    for (let next = await first; !next.done && !out.gone; next = await events.next()) {
      const event = next.value;
      if (event.type === 'plan.created' || event.type === 'plan.revised') finalTask = sinkOf(event.graph);
      if (event.type !== 'model.delta' || event.taskId !== finalTask || !event.text) continue;
      const gap = step !== undefined && step !== event.step ? '\n\n' : '';
      const firstText = step === undefined;
      step = event.step;
      out.send(chunk({ content: gap + event.text }));
      // The first token goes out at once; the rest of a tick's tokens go together.
      if (firstText) out.flush();
      // While the client's buffer is full, no more is read from the run.
      if (out.blocked) await out.drained();
    }
    // A client that left stops only its stream: the run goes on (resumable, visible on GET /runs).
    if (out.gone) return;
    const result = await handle.result;
    let rest = '';
    try {
      const { content, finishReason } = answerOf(result);
      if (step === undefined)
        for (let at = 0; at < content.length; at += pieceLength)
          rest += chunk({ content: content.slice(at, at + pieceLength) });
      rest += chunk({}, finishReason);
      if (includeUsage)
        rest += frame(
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
      rest += frame(JSON.stringify(openAIError(error, options.logger).body));
    }
    out.end(`${rest}${frame('[DONE]')}`);
  } catch (error) {
    // The run's events could not be read: the client gets OpenAI's error frame, not a silent end.
    out.end(frame(JSON.stringify(openAIError(error, options.logger).body)));
  } finally {
    clearInterval(heartbeat);
    void events.return(undefined).catch(() => undefined);
  }
}

/** The task a plan's answer comes from: its only task nothing else depends on (none when several are). */
function sinkOf(graph: PlanGraphInfo): string | undefined {
  const sinks = graph.tasks.filter((task) => !graph.tasks.some((other) => other.dependsOn.includes(task.id)));
  return sinks.length === 1 ? sinks[0]!.id : undefined;
}
