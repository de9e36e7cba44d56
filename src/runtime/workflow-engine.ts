import { Command } from '@langchain/langgraph';
import type { AgentContext } from '../../agents/index.js';
import type { ExecutionStore } from './store/index.js';
import type { PlanApprover } from './run-types.js';
import type { TaskOutcome } from './task-outcome.js';
import type { assembleTeam } from './team.js';
import { toolApprovalAnswer } from './tool-approval-gate.js';
import { elicitationAnswer } from './elicitation-answer.js';
import { createRunWorkflow, type ApprovalRequest, type WorkflowOutput } from './workflow.js';
import type { Execution, PendingApproval } from './execution.js';

// Loaded only by runs on the workflow engine, so a run on the direct engine never loads LangGraph.

type Interrupted = { __interrupt__?: Array<{ id?: string; value: ApprovalRequest }> };

/** What a workflow execution ended with: its output, or the approval it stopped at. */
export interface WorkflowEnd {
  output?: WorkflowOutput;
  approval?: PendingApproval;
  /** Why the in-process approver gave no answer (e.g. no terminal to ask on): the run stays waiting. */
  approverError?: unknown;
}

/**
 * Runs (or resumes) a run's LangGraph workflow until it ends or stops for an approval that no
 * in-process approver answers.
 */
export async function runWorkflow(
  x: Execution,
  team: ReturnType<typeof assembleTeam>,
  context: AgentContext,
  onOutcome: (outcome: TaskOutcome) => void,
): Promise<WorkflowEnd> {
  const { options, store, runId } = x;
  const workflow = createRunWorkflow({
    ...team,
    context,
    checkpointer: await store.checkpointer(),
    policy: x.config,
    approval: Boolean(options.approvePlan),
    ...((options.episodes ?? options.memory) ? { episodes: options.episodes ?? options.memory!.episodes } : {}),
    ...(options.memory ? { memory: options.memory } : {}),
    onPlan: (graph) => store.runs.update(runId, { plan: graph }),
    outcomes: store.outcomes,
    onOutcome,
  });
  const thread = { configurable: { thread_id: runId }, recursionLimit: 10_000, signal: x.signal };
  // A run killed before its first checkpoint has nothing to continue from: it starts afresh (nothing ran).
  const checkpointed =
    x.resuming && (await (await store.checkpointer()).getTuple({ configurable: { thread_id: runId } })) !== undefined;
  let input: unknown = checkpointed ? resumeInput(x) : { goal: options.goal };
  for (;;) {
    const value: unknown = await workflow.invoke(input as never, thread);
    const approval = interruptOf(value, await planOrder(store, runId));
    if (!approval) return { output: value as WorkflowOutput };
    if (approval.request.kind !== 'plan_approval' || typeof options.approvePlan !== 'function') return { approval };
    try {
      input = new Command({ resume: await (options.approvePlan as PlanApprover)(approval.request) });
    } catch (approverError) {
      return { approval, approverError };
    }
  }
}

/**
 * The first of a stopped run's pending approvals. Parallel tasks can stop at once (and a task that
 * waits for a stopped one repeats its interrupt): the earliest task in the plan comes first.
 */
function interruptOf(value: unknown, order: readonly string[]): PendingApproval | undefined {
  const pending = (value as Interrupted | undefined)?.__interrupt__;
  if (!pending?.length) return undefined;
  const rank = (request: ApprovalRequest) =>
    request.kind !== 'plan_approval' && request.taskId ? order.indexOf(request.taskId.split('>')[0]!) : -1;
  const [first] = [...pending].sort((a, b) => rank(a.value) - rank(b.value));
  return { request: first!.value, ...(first!.id ? { interruptId: first!.id } : {}) };
}

/** The workflow's input when resuming: a decision answers the interrupt the run stopped at. */
function resumeInput(x: Execution): unknown {
  const { decision } = x.options;
  if (!x.waiting || !decision) return null;
  const pending = x.waiting === true ? undefined : x.waiting;
  if (pending?.request.kind === 'plan_approval' || !pending?.interruptId) return new Command({ resume: decision });
  const { request, interruptId } = pending;
  // Addressed to this interrupt alone: other tasks waiting at the same time keep waiting.
  const answer = (value: unknown) => new Command({ resume: { [interruptId]: value } });
  if (request.kind === 'elicitation') {
    const answered = elicitationAnswer(decision, request);
    x.events.emit({ type: 'mcp.elicitation_answered', server: request.server, action: answered.action });
    return answer(answered);
  }
  const approval = toolApprovalAnswer(decision, request);
  x.events.emit({
    type: 'tool.approval',
    taskId: request.taskId,
    ...(request.callId !== undefined ? { callId: request.callId } : {}),
    tool: request.tool,
    decision: approval.approved ? 'approved' : 'rejected',
    ...(approval.reason ? { reason: approval.reason } : {}),
  });
  return answer(approval);
}

/** The plan's task ids in order, to rank approvals that wait at the same time. */
async function planOrder(store: ExecutionStore, runId: string): Promise<string[]> {
  const plan = (await store.runs.get(runId))?.plan as { tasks?: Array<{ id: string }> } | undefined;
  return plan?.tasks?.map((t) => t.id) ?? [];
}
