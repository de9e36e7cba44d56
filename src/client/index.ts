/**
 * A typed client of cadre's HTTP API over fetch and SSE, for Node 20+ and browsers. It imports
 * nothing of the server (no database, no model libraries).
 *
 * @module cadre/client
 */
export { createClient, type CadreClient, type RunsResource, type ThreadsResource } from './create-client.js';
export type { ClientOptions } from './client-transport.js';
export { RunEventStream } from './run-event-stream.js';
export type {
  ApprovalDecision,
  CadreEvent,
  CreateRunInput,
  CreateThreadInput,
  DoubleTextPolicy,
  PostedMessage,
  Run,
  RunBudget,
  RunEventsOptions,
  RunState,
  StreamEnd,
  Thread,
  ThreadDetail,
  ThreadMessage,
} from './client-types.js';
export { CadreError, type ErrorCode, type ErrorKind } from '../core/errors.js';
