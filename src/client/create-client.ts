import type {
  ApprovalDecision,
  CreateRunInput,
  CreateThreadInput,
  DoubleTextPolicy,
  PostedMessage,
  Run,
  RunEventsOptions,
  Thread,
  ThreadDetail,
} from './client-types.js';
import { createTransport, type ClientOptions } from './client-transport.js';
import { RunEventStream } from './run-event-stream.js';

/** The runs API: start, read, list, follow, cancel and answer runs. */
export interface RunsResource {
  /** Starts a run of a registered team or agent; the run is committed on the server when this resolves. */
  create(input: CreateRunInput): Promise<Run>;
  /** One run; `run_not_found` for an id this key and user may not see. */
  get(runId: string): Promise<Run>;
  /** This key's (and user's) runs, newest first; `before` (ms since the epoch) pages back. */
  list(page?: { limit?: number; before?: number }): Promise<Run[]>;
  /** Stops a run at its next step (it stays resumable); `run_conflict` when it is not running there. */
  cancel(runId: string, reason?: string): Promise<Run>;
  /** Answers what a run at `awaiting_approval` waits for, and resumes it. */
  approve(runId: string, decision: ApprovalDecision): Promise<Run>;
  /** The run's events from `from` (default 1), replayed then live, reconnecting by Last-Event-ID. */
  events(runId: string, options?: RunEventsOptions): RunEventStream;
}

/** The threads API: conversations, each message answered by a run of the thread's team. */
export interface ThreadsResource {
  /** Opens a conversation with a registered team or agent. */
  create(input: CreateThreadInput): Promise<Thread>;
  /** One thread with its messages and runs; `not_found` for one this key and user may not see. */
  get(threadId: string): Promise<ThreadDetail>;
  /** This key's (and user's) threads, newest first. */
  list(page?: { limit?: number }): Promise<Thread[]>;
  /**
   * Sends a message: a run of the thread's team answers it with the earlier turns (or it waits its
   * turn, by the double-texting policy). Follow the answer with `runs.events(posted.runId)`.
   */
  send(threadId: string, text: string, options?: { policy?: DoubleTextPolicy }): Promise<PostedMessage>;
}

/** A typed client of cadre's HTTP API. */
export interface CadreClient {
  readonly runs: RunsResource;
  readonly threads: ThreadsResource;
}

/**
 * A client of a cadre server (`cadre serve`): fetch and ReadableStream only, so it runs in Node 20+
 * and in browsers. Error answers throw a `CadreError` with the server's code (`run_not_found`,
 * `auth_failed`, ...) and the HTTP status in `details.status`.
 */
export function createClient(options: ClientOptions): CadreClient {
  const transport = createTransport(options);
  const path = (runId: string, rest = '') => `/runs/${encodeURIComponent(runId)}${rest}`;
  const runs: RunsResource = {
    create: (input) => transport.json<Run>('/runs', { method: 'POST', body: input }),
    get: (runId) => transport.json<Run>(path(runId)),
    list: async (page = {}) => {
      const query = new URLSearchParams();
      if (page.limit !== undefined) query.set('limit', String(page.limit));
      if (page.before !== undefined) query.set('before', String(page.before));
      const suffix = query.toString() ? `?${query.toString()}` : '';
      return (await transport.json<{ runs: Run[] }>(`/runs${suffix}`)).runs;
    },
    cancel: (runId, reason) =>
      transport.json<Run>(path(runId, '/cancel'), { method: 'POST', body: reason !== undefined ? { reason } : {} }),
    approve: (runId, decision) => transport.json<Run>(path(runId, '/approval'), { method: 'POST', body: decision }),
    events: (runId, eventOptions) => new RunEventStream(transport, runId, eventOptions),
  };
  const thread = (threadId: string, rest = '') => `/threads/${encodeURIComponent(threadId)}${rest}`;
  const threads: ThreadsResource = {
    create: (input) => transport.json<Thread>('/threads', { method: 'POST', body: input }),
    get: (threadId) => transport.json<ThreadDetail>(thread(threadId)),
    list: async (page = {}) => {
      const suffix = page.limit !== undefined ? `?limit=${page.limit}` : '';
      return (await transport.json<{ threads: Thread[] }>(`/threads${suffix}`)).threads;
    },
    send: (threadId, text, sendOptions = {}) =>
      transport.json<PostedMessage>(thread(threadId, '/messages'), {
        method: 'POST',
        body: { text, ...(sendOptions.policy ? { policy: sendOptions.policy } : {}) },
      }),
  };
  return { runs, threads };
}
