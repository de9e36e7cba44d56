import { AIMessage, HumanMessage, SystemMessage, type BaseMessage } from '@langchain/core/messages';
import type { Runnable, RunnableConfig } from '@langchain/core/runnables';
import type { StructuredToolInterface } from '@langchain/core/tools';
import {
  addUsage,
  emptyUsage,
  throwIfAborted,
  type ModelStep,
  type Reservation,
  type ToolCallInfo,
  type Usage,
} from '../../src/core/index.js';
import { invokeModel } from '../../src/models/invoke-model.js';
import { costOfReply } from '../../src/models/reply-info.js';
import type { Capability, RouteDecision, RouteRequest } from '../../src/models/router.js';
import type { Tool } from '../../tools/define-tool.js';
import { withJsonToolProtocol } from '../json-tool-protocol.js';
import { usageFromMessage } from '../../src/models/usage.js';
import { attemptKey, type AgentContext, type AgentTask, type TaskResult } from '../agent.js';
import { routeFor } from '../route-request.js';
import { emitStrategyEvent, type StrategyEventPayload, type StrategyName } from './strategy-events.js';

/** One model call of a strategy: where it is journaled, what it asks and how it samples. */
export interface StrategyCall {
  /** Journal key under the task attempt's, stable across a resumed run, e.g. `sample-3` or `tot/r.2/value-1`. */
  key: string;
  /** Routing task kind of this call. */
  kind: string;
  system: string;
  /** The request; also the text routing scans. */
  prompt: string;
  /** The whole conversation to send, when it is more than `system` and `prompt` (a trajectory so far). */
  conversation?: BaseMessage[];
  /** Tools the model may call: bound natively, or through the JSON protocol when the model has none. */
  tools?: { cadre: readonly Tool[]; langchain: StructuredToolInterface[] };
  /** Passed to the model as the call option `temperature`, for models that take it per call. */
  temperature?: number;
  /** Stops this call alone (self-consistency's early stop); the run's signal stops every call. */
  signal?: AbortSignal;
  /** Checks the answer, for a cascade to escalate on. */
  checkAnswer?: RouteRequest['checkAnswer'];
}

/** A model reply, from the model or from the journal. */
export interface StrategyReply {
  content: string;
  toolCalls: ToolCallInfo[];
  model: string;
  replayed: boolean;
}

/**
 * One task run by a strategy: routes its calls, journals each under a stable key and replays it
 * from there on a re-run (taking no budget), charges new calls to the budget, emits their
 * `model.response`, and adds up steps, usage and cost for the TaskResult.
 */
export class StrategyRun {
  readonly key: string;
  private readonly routes = new Map<string, Promise<RouteDecision>>();
  private steps = 0;
  private replayedSteps = 0;
  private usage: Usage = emptyUsage();
  private costUsd = 0;
  private model: string | undefined;

  constructor(
    readonly task: AgentTask,
    readonly ctx: AgentContext,
    readonly strategy: StrategyName,
    private readonly preferred: string | undefined,
  ) {
    this.key = attemptKey(task);
  }

  /** Model calls made or replayed so far. */
  get calls(): number {
    return this.steps;
  }

  /** Whether a reply is recorded under `key` (a call's key), so asking for it costs nothing. */
  async recorded(key: string): Promise<boolean> {
    const steps = await this.ctx.journal.replay(this.ctx.runId, `${this.key}/${key}`);
    return steps.some((s) => s.kind === 'model');
  }

  /** Asks the model once, or reads the reply recorded under the call's key. */
  async call(call: StrategyCall): Promise<StrategyReply> {
    throwIfAborted(this.ctx.signal);
    const key = `${this.key}/${call.key}`;
    const recorded = (await this.ctx.journal.replay(this.ctx.runId, key)).find(
      (s): s is ModelStep => s.kind === 'model',
    );
    if (recorded) {
      this.replayedSteps += 1;
      this.account(recorded, ++this.steps, 0, true);
      return { content: recorded.content, toolCalls: recorded.toolCalls, model: recorded.model, replayed: true };
    }
    const messages = call.conversation ?? [new SystemMessage(call.system), new HumanMessage(call.prompt)];
    const decision = await this.route(call);
    // The call's most is held before it starts, so parallel calls cannot promise past a cap together.
    const reservation: Reservation = this.ctx.budget.beforeStep(decision.estimate?.(messages));
    const step = ++this.steps;
    const started = performance.now();
    let modelStep: ModelStep;
    try {
      const signal = call.signal ? AbortSignal.any([this.ctx.signal, call.signal]) : this.ctx.signal;
      const bound = bindTools(decision, call.tools);
      const model =
        call.temperature === undefined
          ? bound
          : bound.withConfig({ temperature: call.temperature } as Partial<RunnableConfig>);
      const message = await invokeModel(model, messages, { signal, ref: decision.ref });
      const { model: answeredBy, costUsd } = costOfReply(message, decision.ref);
      modelStep = {
        kind: 'model',
        runId: this.ctx.runId,
        taskId: key,
        index: 0,
        model: answeredBy,
        content: textOf(message),
        // Ids of cadre's own, unique along any path of a tree: models reuse theirs.
        toolCalls: (message.tool_calls ?? []).map((c, i) => ({
          id: `${call.key.replaceAll('/', '-')}-${i + 1}`,
          name: c.name,
          args: (c.args ?? {}) as Record<string, unknown>,
        })),
        usage: usageFromMessage(message),
        costUsd,
      };
      await this.ctx.journal.append(modelStep);
    } catch (error) {
      reservation.release();
      throw error;
    }
    this.account(modelStep, step, performance.now() - started, false);
    // After the event, so a call that took the run past a cap is on record when the run stops.
    reservation.settle(modelStep.usage, modelStep.costUsd);
    return { content: modelStep.content, toolCalls: modelStep.toolCalls, model: modelStep.model, replayed: false };
  }

  /** Emits a strategy event for this task. */
  emit(payload: DistributiveOmit<StrategyEventPayload, 'taskId' | 'strategy'>): void {
    emitStrategyEvent(this.ctx.events, {
      ...payload,
      taskId: this.task.id,
      strategy: this.strategy,
    } as StrategyEventPayload);
  }

  /** The TaskResult of the strategy's answer, with every call's steps, usage and cost. */
  result(answer: string): TaskResult {
    return {
      taskId: this.task.id,
      answer,
      steps: this.steps,
      replayedSteps: this.replayedSteps,
      usage: this.usage,
      costUsd: this.costUsd,
      ...(this.model ? { model: this.model } : {}),
      // The conversation as the task's: its text and the answer (each call's prompt is in the journal).
      messages: [new HumanMessage(taskText(this.task)), new AIMessage(answer)],
    };
  }

  /** One routing decision per task kind, made on first use, each with its `model.routed` event. */
  private route(call: StrategyCall): Promise<RouteDecision> {
    let decision = this.routes.get(call.kind);
    if (!decision) {
      decision = routeFor(this.ctx, this.task.id, {
        taskKind: call.kind,
        ...(this.preferred ? { preferred: this.preferred } : {}),
        text: call.prompt,
        ...(call.tools?.cadre.length ? { requiredCapabilities: ['tools'] as Capability[] } : {}),
        ...(call.checkAnswer ? { checkAnswer: call.checkAnswer } : {}),
      });
      this.routes.set(call.kind, decision);
      // A failed route is not cached: the next call asks again.
      decision.catch(() => this.routes.delete(call.kind));
    }
    return decision;
  }

  private account(step: ModelStep, number: number, latencyMs: number, replayed: boolean): void {
    this.usage = addUsage(this.usage, step.usage);
    this.costUsd += step.costUsd;
    this.model = step.model;
    // Emitting model.response is the journal's durability point: the reply is committed before it is used.
    this.ctx.events.emit({
      type: 'model.response',
      taskId: this.task.id,
      step: number,
      model: step.model,
      content: step.content,
      toolCalls: step.toolCalls,
      usage: step.usage,
      costUsd: step.costUsd,
      latencyMs,
      replayed,
    });
  }
}

/** The decision's model with the call's tools bound, natively or through the JSON protocol. */
function bindTools(decision: RouteDecision, tools: StrategyCall['tools']): Runnable<BaseMessage[], AIMessage> {
  if (!tools?.cadre.length) return decision.model as Runnable<BaseMessage[], AIMessage>;
  if (decision.nativeTools === false || !decision.model.bindTools)
    return withJsonToolProtocol(decision.model, tools.cadre);
  return decision.model.bindTools(tools.langchain) as Runnable<BaseMessage[], AIMessage>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The text of a reply, whatever parts it came in. */
export function textOf(message: Pick<AIMessage, 'content'>): string {
  if (typeof message.content === 'string') return message.content;
  return message.content
    .map((part) => (typeof part === 'string' ? part : part.type === 'text' && 'text' in part ? String(part.text) : ''))
    .join('');
}

/** The task as the model first reads it: its context, then the instruction. */
export const taskText = (task: AgentTask): string =>
  task.context ? `${task.context}\n\n## Task\n${task.instruction}` : task.instruction;
