import type { BaseMessage } from '@langchain/core/messages';
import type { Budget, Logger, RunEventStream, StepJournal, ToolCallJournal, Usage } from '../src/core/index.js';
import type { AnswerCheck, ModelRouter } from '../src/models/router.js';
import type { ToolGuards } from '../tools/index.js';

/** One unit of work for an agent. */
export interface AgentTask {
  id: string;
  instruction: string;
  /** Results of earlier tasks or other background, shown to the model before the instruction. */
  context?: string;
  /** 1 for the first try; later attempts are journaled apart so each replays its own steps. */
  attempt?: number;
  /** Restricts the agent to these of its tools for this task; omitted means all of them. */
  tools?: readonly string[];
  /** What kind of work this is, for routing (reason, code, summarise, ...); default `agent`. */
  kind?: string;
  /** Checks a final answer (e.g. against the task's output schema); a cascade escalates when it fails. */
  checkAnswer?: AnswerCheck;
}

/** The journal key of a task attempt: the task id for the first, `id#n` after. */
export const attemptKey = (task: AgentTask): string =>
  task.attempt && task.attempt > 1 ? `${task.id}#${task.attempt}` : task.id;

/** What the runtime hands an agent for one task: shared services of the run. */
export interface AgentContext {
  runId: string;
  router: ModelRouter;
  events: RunEventStream;
  budget: Budget;
  journal: StepJournal;
  /** Records tool calls with effects so that a resumed run never silently repeats one. */
  toolJournal?: ToolCallJournal;
  /** Tool policy, approvals, pinning, rate limits and audit for every tool call of the run. */
  guards?: Omit<ToolGuards, 'agent' | 'role'>;
  signal: AbortSignal;
  logger?: Logger;
  /** `sensitive` keeps every model call of the run on local models. */
  privacy?: 'public' | 'sensitive';
}

/** What an agent returns for a task. */
export interface TaskResult {
  taskId: string;
  answer: string;
  /** Model calls made (or replayed) for this task. */
  steps: number;
  /** Steps taken from the journal instead of calling the model or tools. */
  replayedSteps: number;
  /** Tool calls that ended in an error (refused, failed, unknown outcome); the answer may rest on less than it says. */
  toolErrors?: number;
  usage: Usage;
  costUsd: number;
  /** Attempts the agent made itself (Reflexion); 1 when omitted. */
  attempts?: number;
  /** The model that answered, when one model did. */
  model?: string;
  messages: BaseMessage[];
}

/** Anything that can carry out a task. */
export interface Agent {
  readonly name: string;
  readonly role?: string;
  /** Carries out the task with the run's shared services: models, budget, journal and events. */
  run(task: AgentTask, context: AgentContext): Promise<TaskResult>;
}
