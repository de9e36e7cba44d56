import { isGraphInterrupt } from '@langchain/langgraph';
import { markApprovalPending, type McpCallEnd, type McpElicitHandler, type McpToolCall } from '../../tools/index.js';
import type { RunEventStream } from '../core/index.js';
import { elicitationKey, type ElicitationAnswer, type ElicitationRequest } from './elicitation-answer.js';
import { InterruptAnswers } from './interrupt-answers.js';

/** The toolset options through which a run stops for MCP servers' questions (see createInterruptElicitor). */
export interface InterruptElicitor {
  elicit: McpElicitHandler;
  watchCall: (call: McpToolCall) => McpCallEnd;
}

/** A question cancelled for the server because no answer had come yet, and when it came (see `clock`). */
type Asked = Omit<ElicitationRequest, 'kind' | 'tool' | 'taskId' | 'callId'> & { key: string; at: number };

/**
 * How a run with `approveTool: 'interrupt'` and no `elicit` handler answers MCP servers' questions:
 * it stops, durably, until a person answers with `resume(runId, { decision })`.
 *
 * The SDK hands a question to `elicit` outside the run's LangGraph task, where `interrupt()` cannot
 * be called; the tool call it came in is inside it. So `elicit` answers a question already answered,
 * and otherwise notes it and cancels it, which ends the server's call; the end of the call
 * (`watchCall`) then stops the run with the question. Resumed, the task makes the call again, is
 * answered there, and has it made once more, for the server to ask again and get the answer.
 */
export function createInterruptElicitor(
  events: RunEventStream,
  answers: InterruptAnswers = new InterruptAnswers(),
): InterruptElicitor {
  const asked: Asked[] = [];
  // Orders questions and calls: a call is held for the questions its server asked after it started.
  // The protocol does not say which call a question belongs to; with several calls to one server at
  // once, each is held and made again.
  let clock = 0;

  const elicit: McpElicitHandler = ({ server, params }) => {
    // cadre offers form questions only (capability `elicitation.form`).
    if (!('requestedSchema' in params)) return Promise.resolve({ action: 'decline' });
    const question = { server, message: params.message, requestedSchema: params.requestedSchema };
    const key = elicitationKey(question);
    const answer = answers.get(key) as ElicitationAnswer | undefined;
    if (answer)
      return Promise.resolve(
        answer.action === 'accept' ? { action: 'accept', content: answer.content } : { action: 'decline' },
      );
    asked.push({ ...question, key, at: ++clock });
    return Promise.resolve({ action: 'cancel' });
  };

  // Inside the task: stops the run until the question is answered, then has the call made again.
  const holdFor = (question: Asked, call: McpToolCall): void => {
    const { server, message, requestedSchema, key } = question;
    const { tool, taskId, callId } = call;
    const request: ElicitationRequest = { kind: 'elicitation', server, tool, message, requestedSchema, taskId, callId };
    try {
      answers.ask(key, request);
    } catch (error) {
      if (!isGraphInterrupt(error)) throw error;
      events.emit({ type: 'mcp.elicitation_requested', server, tool, message, taskId, callId });
      // Passes the executor, agents and task runner untouched, up to LangGraph, which stops the run.
      throw markApprovalPending(error as object);
    }
  };

  const watchCall = (call: McpToolCall): McpCallEnd => {
    const since = ++clock;
    return () => {
      const cancelled = asked.filter((q) => q.server === call.server && q.at > since);
      for (const question of cancelled) holdFor(question, call);
      return cancelled.length ? 'again' : 'done';
    };
  };

  return { elicit, watchCall };
}
