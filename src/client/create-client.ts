import type { ApprovalDecision, CreateRunInput, Run, RunEventsOptions } from './client-types.js';
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

/** A typed client of cadre's HTTP API. */
export interface CadreClient {
  readonly runs: RunsResource;
  // threads: the conversations API (POST /threads, GET /threads/:id, POST /threads/:id/messages)
  // belongs here as `readonly threads: ThreadsResource`, built on the same transport, once the
  // server serves those routes.
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
  return { runs };
}
