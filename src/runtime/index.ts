export { run, resume } from './run.js';
export type {
  RunOptions,
  ResumeOptions,
  RunResult,
  RunHandle,
  PlanApprover,
  RunAppEntry,
  RunOwner,
} from './run-types.js';
export type { ApprovalRequest, PlanApprovalRequest, PlanDecision } from './workflow.js';
export type { ToolApprovalRequest } from './tool-approval-gate.js';
export type { ElicitationRequest } from './elicitation-answer.js';
export type { TaskOutcome } from './task-outcome.js';
export {
  openCadreStore,
  openConfiguredStore,
  readRunRecord,
  leasedRuns,
  type LeasedRuns,
  type StoreConfig,
  configuredRunStore,
  type RunsAndEvents,
  runStoreKind,
  closePostgresRuns,
  type CadreStore,
  type RunRecord,
  type RunState,
} from './store/index.js';
