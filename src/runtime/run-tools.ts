import { join } from 'node:path';
import type { AgentContext } from '../../agents/index.js';
import {
  AuditLog,
  RateLimiter,
  ToolPinStore,
  ToolPolicy,
  denyWithoutApprover,
  type AuditSink,
  type ApprovalHandler,
} from '../../tools/policy/index.js';
import type { McpElicitHandler, McpToolset } from '../../tools/mcp/index.js';
import type { Tool } from '../../tools/define-tool.js';
import { CadreError, createLogger, type CadreConfig, type RunEventStream } from '../core/index.js';
import type { InterruptElicitor } from './elicitation-gate.js';
import type { SamplingContext } from './mcp-sampling.js';
import type { SqliteDatabase } from './store/index.js';
import { WriteBatch } from './store/write-batch.js';

/** What a run's tool calls go through, and the MCP servers its agents can reach. */
export interface RunTools {
  guards: NonNullable<AgentContext['guards']>;
  tools: Tool[];
  close(): Promise<void>;
}

// One audit log per database: it prepares its statements once, not for every run.
const auditLogs = new WeakMap<SqliteDatabase, AuditLog>();
const auditLogOf = (db: SqliteDatabase): AuditLog => {
  let log = auditLogs.get(db);
  if (!log) {
    // The call's audit row joins the step's batch, durable with it, its insert held for the commit
    // (see WriteBatch.queue).
    const batch = WriteBatch.of(db);
    auditLogs.set(
      db,
      (log = new AuditLog(db, Date.now, (statement, params, json, nullable) =>
        batch.queue(statement, params, undefined, json, nullable),
      )),
    );
  }
  return log;
};

/** Tools that come from an MCP server: their definitions are the server's to change, so they are pinned. */
const isMcpTool = (tool: Tool): boolean => typeof (tool as { server?: unknown }).server === 'string';

/**
 * The run's tool guards — policy (default: destructive tools need approval), approvals (`'interrupt'`:
 * the run stops and waits for the decision, and for answers to MCP servers' questions), pinning and
 * the audit log in the run's database, rate limits — and its MCP tools, started lazily.
 */
export async function openRunTools(
  config: CadreConfig,
  store: { readonly db: SqliteDatabase; readonly audit?: AuditSink | undefined },
  events: RunEventStream,
  answers: {
    approve?: ApprovalHandler | 'interrupt' | undefined;
    /** The run as MCP servers allowed to sample (`sampling: true`) borrow it; read when they ask. */
    sampling?: () => SamplingContext;
    /** Answers MCP servers' questions to the user; without it they stop the run under `'interrupt'`, else are declined. */
    elicit?: McpElicitHandler | undefined;
  } = {},
): Promise<RunTools> {
  const { approve, sampling, elicit } = answers;
  const policy = new ToolPolicy((config.toolPolicy ?? {}) as never);
  const hasMcp = Boolean(config.mcpServers && Object.keys(config.mcpServers).length);
  // Interrupts and the MCP client are loaded only by runs that use them (LangGraph, the MCP SDK).
  const gates: Gates =
    approve === 'interrupt'
      ? await interruptGates(events, hasMcp && !elicit)
      : { approve: approve ?? denyWithoutApprover };
  const guards = {
    policy,
    approve: gates.approve,
    audit: store.audit ?? auditLogOf(store.db),
    rateLimiter: RateLimiter.fromPolicy(policy),
    pins: new ToolPinStore(store.db, {
      applies: isMcpTool,
      onChange: (change) => events.emit({ type: 'tool.quarantined', tool: change.name, changes: change.changes }),
    }),
  };
  let toolset: McpToolset | undefined;
  if (hasMcp) {
    const [{ createMcpToolset, parseMcpServers }, { createSamplingHandler }, { elicitThroughApprover }] =
      await Promise.all([
        import('../../tools/mcp/index.js'),
        import('./mcp-sampling.js'),
        import('./elicitation-approver.js'),
      ]);
    // Without a handler, servers' questions go where tool approvals go: a callback given as
    // `approveTool`, or (below) the run's interrupt.
    const asker = elicit ?? (typeof approve === 'function' ? elicitThroughApprover(approve, events.runId) : undefined);
    toolset = await createMcpToolset({
      servers: parseMcpServers(config.mcpServers),
      cachePath: join(config.dataDir, 'mcp-tools.json'),
      // A sandboxed server must not read the runs, journals and tokens kept there.
      sandbox: { hide: [config.dataDir] },
      // Offered to servers as their first root (roots/list).
      workspaceDir: config.workspaceDir,
      // Logins made with `cadre mcp login`, for servers that answer 401.
      oauthDir: join(config.dataDir, 'mcp-auth'),
      // Servers allowed to sample are answered by the run's own models, under its budget and privacy.
      ...(sampling ? { sampling: createSamplingHandler(sampling, guards.audit) } : {}),
      ...(asker ? { elicit: asker } : {}),
      // Without a handler, a run that stops for approvals stops for servers' questions too.
      ...gates.elicitor,
      // Servers' log messages, at the run's log level.
      logger: createLogger({ level: config.logLevel }),
      // Server state and progress of long calls become run events, for the CLI and chat frontends.
      onEvent: (event) => {
        if (event.type === 'mcp.progress') {
          events.emit({
            type: 'tool.progress',
            tool: event.tool,
            callId: event.callId,
            progress: event.progress,
            ...(event.total !== undefined ? { total: event.total } : {}),
            ...(event.message ? { message: event.message } : {}),
          });
        } else if (event.type === 'mcp.state') {
          events.emit({
            type: 'mcp.server',
            server: event.server,
            state: event.state,
            ...(event.error ? { error: event.error } : {}),
          });
        }
      },
    });
    // A server that needs a login nobody made leaves the run without tools it was given: it stops
    // here, naming the command that logs in, rather than going on without them.
    const unauthorised = toolset.status().find((server) => server.lastErrorCode === 'mcp_auth_required');
    if (unauthorised) {
      await toolset.close();
      throw new CadreError('mcp_auth_required', unauthorised.lastError!, {
        kind: 'user',
        details: { server: unauthorised.server },
      });
    }
  }
  return {
    guards,
    tools: toolset ? [...toolset.tools(), toolset.resourceTool()] : [],
    close: async () => {
      await toolset?.close();
    },
  };
}

/** Who decides tool calls, and who answers servers' questions when the run has no `elicit` handler. */
type Gates = { approve: ApprovalHandler; elicitor?: InterruptElicitor | undefined };

/** The gates of `approveTool: 'interrupt'`, sharing the answers the run is resumed with. */
async function interruptGates(events: RunEventStream, elicits: boolean): Promise<Gates> {
  const [{ InterruptAnswers }, { createInterruptApprover }, elicitation] = await Promise.all([
    import('./interrupt-answers.js'),
    import('./tool-approval-gate.js'),
    elicits ? import('./elicitation-gate.js') : undefined,
  ]);
  const answers = new InterruptAnswers();
  return {
    approve: createInterruptApprover(events, answers),
    elicitor: elicitation?.createInterruptElicitor(events, answers),
  };
}
