import { ErrorCode, McpError, type Resource } from '@modelcontextprotocol/sdk/types.js';
import type { RunAppEntry, RunRecord } from '../../runtime/index.js';
import { runView as sharedRunView, type RunView } from '../run-view.js';
import type { RunStore } from './run-watch.js';

/** The URI of a run's resource: its record and result as JSON. */
export const runUri = (runId: string): string => `cadre://runs/${encodeURIComponent(runId)}`;

/** The URI of a run's event log. */
export const runEventsUri = (runId: string): string => `${runUri(runId)}/events`;

/** A run record as MCP clients see it: never the owner's key id, its end user or internal settings. */
export const runView = (record: RunRecord): RunView => sharedRunView(record);

/** A run as an entry of `resources/list`: its URI, id, goal as title, and status. */
export function runResource(record: RunRecord): Resource {
  const goal = record.goal.replace(/\s+/g, ' ').trim();
  const team = (record.settings?.app as RunAppEntry | undefined)?.team;
  return {
    uri: runUri(record.id),
    name: record.id,
    title: goal.length > 80 ? `${goal.slice(0, 79)}…` : goal,
    description: `${record.status}${team ? ` · team ${team}` : ''} · started ${new Date(record.createdAt).toISOString()}`,
    mimeType: 'application/json',
    annotations: { lastModified: new Date(record.updatedAt).toISOString() },
  };
}

/**
 * Where the next page starts: runs created at or before `before` (ms), less the ids of that same
 * millisecond already shown, so runs created together are neither skipped nor repeated.
 */
interface Cursor {
  before: number;
  seen: string[];
}

/** One page of runs, newest first, and the cursor of the next when there are more. */
export async function pageOfRuns(
  store: RunStore,
  cursor: string | undefined,
  pageSize: number,
): Promise<{ runs: RunRecord[]; next?: string }> {
  const from = cursor === undefined ? undefined : decodeCursor(cursor);
  const listed = await store.runs.listOwned({
    ...(from ? { before: from.before + 1 } : {}),
    limit: pageSize + 1 + (from?.seen.length ?? 0),
  });
  const rows = listed.filter((run) => !from?.seen.includes(run.id));
  const runs = rows.slice(0, pageSize);
  const last = runs.at(-1);
  if (rows.length <= pageSize || !last) return { runs };
  const sameTime = runs.filter((run) => run.createdAt === last.createdAt).map((run) => run.id);
  const seen = from && from.before === last.createdAt ? [...from.seen, ...sameTime] : sameTime;
  const next: Cursor = { before: last.createdAt, seen };
  return { runs, next: Buffer.from(JSON.stringify(next)).toString('base64url') };
}

function decodeCursor(cursor: string): Cursor {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (
      Number.isSafeInteger(value.before) &&
      Array.isArray(value.seen) &&
      value.seen.every((s) => typeof s === 'string')
    )
      return value as Cursor;
  } catch {
    // Falls through to the error below.
  }
  throw new McpError(ErrorCode.InvalidParams, 'Invalid cursor: pass the nextCursor of the previous page unchanged');
}
