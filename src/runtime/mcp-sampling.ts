import { AIMessage, HumanMessage, SystemMessage, type BaseMessage } from '@langchain/core/messages';
import type { CreateMessageResult } from '@modelcontextprotocol/sdk/types.js';
import type { AgentContext } from '../../agents/agent.js';
import { routeFor } from '../../agents/route-request.js';
import type { AuditSink } from '../../tools/policy/index.js';
import type { McpSamplingHandler, McpSamplingRequest } from '../../tools/mcp/index.js';
import { CadreError } from '../core/index.js';
import { invokeModel } from '../models/invoke-model.js';
import { chargeReply } from './model-accounting.js';

/** What a run lends the MCP servers it allows to sample: its router, budget, privacy and events. */
export type SamplingContext = Pick<AgentContext, 'runId' | 'router' | 'budget' | 'events' | 'signal' | 'privacy'>;

/** The routing task kind of a server's sampling request, for `routing.rules` to match. */
export const samplingTaskKind = 'mcp_sampling';

/** Text of one sampled message; cadre passes text only (an image or audio part is refused by name). */
function textOf(server: string, message: McpSamplingRequest['params']['messages'][number]): string {
  const parts = Array.isArray(message.content) ? message.content : [message.content];
  return parts
    .map((part) => {
      if (part.type === 'text') return part.text;
      throw new CadreError(
        'input_invalid',
        `MCP server "${server}" asked to sample ${part.type} content; cadre samples text only`,
      );
    })
    .join('\n');
}

/**
 * Answers a server's `sampling/createMessage` with the run's own models: routed like any call of the
 * run (task kind `mcp_sampling`; a sensitive run, or a prompt holding personal data, stays on local
 * models), reserved against and charged to the run's budget, reported as `model.response` of task
 * `mcp:<server>`, and audited as the call `<server>/sampling` with the model that answered. Servers
 * get this only when their entry says `sampling: true`.
 */
export function createSamplingHandler(context: () => SamplingContext, audit: AuditSink): McpSamplingHandler {
  let step = 0;
  return async ({ server, params, signal }) => {
    const ctx = context();
    const taskId = `mcp:${server}`;
    const started = performance.now();
    const record = (decision: 'allowed' | 'denied', detail: Record<string, unknown>, error?: string) =>
      audit.record({
        runId: ctx.runId,
        taskId,
        tool: `${server}/sampling`,
        args: { messages: params.messages.length, maxTokens: params.maxTokens, ...detail },
        decision,
        durationMs: performance.now() - started,
        ...(error ? { error } : {}),
      });
    try {
      const messages: BaseMessage[] = [
        ...(params.systemPrompt ? [new SystemMessage(params.systemPrompt)] : []),
        ...params.messages.map((m) =>
          m.role === 'assistant' ? new AIMessage(textOf(server, m)) : new HumanMessage(textOf(server, m)),
        ),
      ];
      const text = messages.map((m) => String(m.content)).join('\n');
      const decision = await routeFor(ctx, taskId, { taskKind: samplingTaskKind, text });
      // Charged like the run's own calls: the budget refuses a call it could not pay for.
      const reservation = ctx.budget.beforeStep(decision.estimate?.(messages));
      let reply: AIMessage;
      try {
        reply = await invokeModel(decision.model, messages, {
          signal: AbortSignal.any([ctx.signal, signal]),
          ref: decision.ref,
        });
      } catch (error) {
        reservation.release();
        throw error;
      }
      const { model, content } = chargeReply(
        ctx,
        { decision, taskId, step: ++step, reservation },
        reply,
        performance.now() - started,
      );
      record('allowed', { model });
      const result: CreateMessageResult = {
        role: 'assistant',
        content: { type: 'text', text: content },
        model,
        stopReason: 'endTurn',
      };
      return result;
    } catch (error) {
      const failure = CadreError.from(error, 'model_failed');
      record('denied', {}, `${failure.code}: ${failure.message}`);
      throw failure;
    }
  };
}
