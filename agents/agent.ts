import type { BaseMessage } from '@langchain/core/messages';
import type { Budget, Logger, RunEventStream, StepJournal, Usage } from '../src/core/index.js';
import type { ModelRouter } from '../src/models/router.js';

/** One unit of work for an agent. */
export interface AgentTask {
  id: string;
  instruction: string;
  /** Results of earlier tasks or other background, shown to the model before the instruction. */
  context?: string;
}

/** What the runtime hands an agent for one task: shared services of the run. */
export interface AgentContext {
  runId: string;
  router: ModelRouter;
  events: RunEventStream;
  budget: Budget;
  journal: StepJournal;
  signal: AbortSignal;
  logger?: Logger;
}

/** What an agent returns for a task. */
export interface TaskResult {
  taskId: string;
  answer: string;
  /** Model calls made (or replayed) for this task. */
  steps: number;
  /** Steps taken from the journal instead of calling the model or tools. */
  replayedSteps: number;
  usage: Usage;
  costUsd: number;
  messages: BaseMessage[];
}

/** Anything that can carry out a task. */
export interface Agent {
  readonly name: string;
  readonly role?: string;
  run(task: AgentTask, context: AgentContext): Promise<TaskResult>;
}
