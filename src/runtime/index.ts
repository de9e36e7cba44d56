export { run, resume, type RunOptions, type ResumeOptions, type RunResult, type RunHandle, type PlanApprover } from './run.js';
export type { ApprovalRequest, PlanDecision } from './workflow.js';
export type { TaskOutcome } from './task-outcome.js';
export { openCadreStore, type CadreStore, type RunRecord, type RunState } from './store/index.js';
