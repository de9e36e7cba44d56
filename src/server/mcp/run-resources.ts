import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ErrorCode,
  ListResourcesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type ReadResourceResult,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { CadreError } from '../../core/index.js';
import type { RunRecord } from '../../runtime/index.js';
import { resourceNotFound, toMcpError } from './mcp-errors.js';
import { pageOfRuns, runResource, runView } from './run-list.js';
import { RunWatch, type RunStore } from './run-watch.js';

/** What a memory search resource needs: `Memory.recall`. */
export interface MemorySearch {
  recall(query: string, options?: { tokenBudget?: number }): Promise<unknown>;
}

export interface RunResourceOptions {
  store: RunStore;
  /** Runs per `resources/list` page. */
  pageSize: number;
  memory?: MemorySearch;
  /** How often the store is looked at for new runs and changes to subscribed ones; 0: never. */
  watchIntervalMs: number;
}

// Completion looks at this many of the newest runs; older ones are reached by typing their full id.
const completionWindow = 500;

/**
 * Registers cadre's resources on `server`: `cadre://runs/{runId}` (a run's record and result),
 * `cadre://runs/{runId}/events` (its event log) and, with a memory, `cadre://memory/search{?q}`.
 * `resources/list` pages through the runs newest first; `resources/read` answers a URI it does not
 * serve with "resource not found" (-32002) and one that is not a URI with invalid params. A client
 * may subscribe to a run's resources and is told when the run changes, and when a run is created.
 * These handlers own resources/list and resources/read: register no other resources on `server`.
 */
export function registerRunResources(server: McpServer, options: RunResourceOptions): RunWatch {
  const { store } = options;
  const completeRunId = async (prefix: string) =>
    (await store.runs.list(completionWindow)).map((run) => run.id).filter((id) => id.startsWith(prefix));
  const json = { mimeType: 'application/json' };
  const templates = [
    server.registerResource(
      'run',
      new ResourceTemplate('cadre://runs/{runId}', { list: undefined, complete: { runId: completeRunId } }),
      { title: 'Cadre run', description: 'A run: goal, status, team, plan and result, as JSON', ...json },
      async (uri, { runId }) => contents(uri, runView(await recordOf(store, variable(runId)))),
    ),
    server.registerResource(
      'run-events',
      new ResourceTemplate('cadre://runs/{runId}/events', { list: undefined, complete: { runId: completeRunId } }),
      { title: 'Cadre run events', description: "A run's event log, oldest first, as a JSON array", ...json },
      async (uri, { runId }) => {
        const id = (await recordOf(store, variable(runId))).id;
        return contents(uri, await store.events.read(id));
      },
    ),
  ];
  const memory = options.memory;
  if (memory)
    templates.push(
      server.registerResource(
        'memory-search',
        new ResourceTemplate('cadre://memory/search{?q}', { list: undefined }),
        {
          title: 'Cadre memory search',
          description: 'What every memory tier recalls for the query q: ranked items and the context block agents see',
          ...json,
        },
        async (uri, { q }) => {
          // A query string may also spell spaces as '+', as HTML forms do.
          const query = variable(typeof q === 'string' ? q.replace(/\+/g, '%20') : q).trim();
          if (!query)
            throw new CadreError('input_invalid', 'A memory search needs a query: cadre://memory/search?q=...');
          return contents(uri, await memory.recall(query));
        },
      ),
    );

  // The SDK's list callback cannot return a cursor, so the list handler is ours: one page of runs.
  server.server.setRequestHandler(ListResourcesRequestSchema, async (request) => {
    const page = await pageOfRuns(store, request.params?.cursor, options.pageSize);
    return { resources: page.runs.map(runResource), ...(page.next ? { nextCursor: page.next } : {}) };
  });
  server.server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const { uri } = request.params;
    if (!URL.canParse(uri)) throw new McpError(ErrorCode.InvalidParams, `Not a URI: ${uri}`);
    for (const template of templates) {
      const variables = template.resourceTemplate.uriTemplate.match(uri);
      if (!variables) continue;
      try {
        return await template.readCallback(new URL(uri), variables, extra);
      } catch (error) {
        throw toMcpError(error);
      }
    }
    throw new McpError(resourceNotFound, `No resource ${uri}; cadre serves ${served(templates)}`);
  });

  const runIdOf = async (uri: string): Promise<string> => {
    const runTemplates = templates.slice(0, 2);
    for (const template of runTemplates) {
      const variables = URL.canParse(uri) ? template.resourceTemplate.uriTemplate.match(uri) : null;
      if (!variables) continue;
      try {
        return (await recordOf(store, variable(variables.runId))).id;
      } catch (error) {
        throw toMcpError(error);
      }
    }
    throw new McpError(ErrorCode.InvalidParams, `Only runs can be subscribed to (${served(runTemplates)}), not ${uri}`);
  };
  const send = async (notify: () => Promise<void>) => {
    // A client gone mid-notification is not an error of ours; its close stops the watch.
    if (server.isConnected()) await notify().catch(() => undefined);
  };
  const watch = new RunWatch(
    store,
    {
      listChanged: () => void send(() => server.server.sendResourceListChanged()),
      updated: (uri) => void send(() => server.server.sendResourceUpdated({ uri })),
    },
    options.watchIntervalMs,
  );
  // Without a watch nothing would ever be sent: declare neither then.
  const watching = options.watchIntervalMs > 0;
  server.server.registerCapabilities({ resources: { subscribe: watching, listChanged: watching } });
  if (watching) {
    server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
      await watch.watch(request.params.uri, await runIdOf(request.params.uri));
      return {};
    });
    server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
      watch.unwatch(request.params.uri);
      return {};
    });
  }
  const { oninitialized, onclose } = server.server;
  server.server.oninitialized = () => {
    oninitialized?.();
    watch.start();
  };
  server.server.onclose = () => {
    watch.stop();
    onclose?.();
  };
  return watch;
}

async function recordOf(store: RunStore, runId: string): Promise<RunRecord> {
  const record = await store.runs.get(runId);
  if (!record) throw new CadreError('run_not_found', `No run ${runId}`, { details: { runId } });
  return record;
}

/** A template variable's value, percent-decoded; the SDK's matcher hands it over raw. */
function variable(value: string | string[] | undefined): string {
  const raw = Array.isArray(value) ? value.join(',') : (value ?? '');
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new CadreError('input_invalid', `Bad percent-encoding in ${raw}`);
  }
}

function contents(uri: URL, value: unknown): ReadResourceResult {
  return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
}

const served = (templates: ReadonlyArray<{ resourceTemplate: ResourceTemplate }>) =>
  templates.map((t) => t.resourceTemplate.uriTemplate.toString()).join(', ');
