import type { RunAppEntry, RunOwner, RunRecord } from '../runtime/index.js';

/** A run record as a client sees it, over HTTP or MCP. */
export interface RunView {
  id: string;
  goal: string;
  status: RunRecord['status'];
  team?: string;
  agent?: string;
  /** The end user the run was started for (a frontend's `user`), when `withUser`. */
  user?: string;
  metadata: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  plan?: RunRecord['plan'];
  result?: Record<string, unknown>;
}

/**
 * A run record as clients see it: never its owner's key id or internal settings. `withUser` adds the
 * end user it was started for (the HTTP API, whose callers see only their own users' runs).
 */
export function runView(record: RunRecord, options: { withUser?: boolean } = {}): RunView {
  const settings = record.settings ?? {};
  const entry = (settings.app ?? {}) as RunAppEntry;
  const owner = settings.owner as RunOwner | undefined;
  return {
    id: record.id,
    goal: record.goal,
    status: record.status,
    ...(entry.team !== undefined ? { team: entry.team } : {}),
    ...(entry.agent !== undefined ? { agent: entry.agent } : {}),
    ...(options.withUser && owner?.user !== undefined ? { user: owner.user } : {}),
    metadata: (settings.metadata ?? {}) as Record<string, unknown>,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(record.plan !== undefined ? { plan: record.plan } : {}),
    ...(record.result !== undefined ? { result: record.result as Record<string, unknown> } : {}),
  };
}
