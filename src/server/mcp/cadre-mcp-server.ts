import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CadreError } from '../../core/index.js';
import type { Tool } from '../../../tools/define-tool.js';
import { ToolExecutor, type ToolExecutorOptions } from '../../../tools/tool-executor.js';
import { idempotencyMetaKey } from '../../../tools/mcp/index.js';

export interface CadreMcpServerOptions {
  /** Cadre tools offered to MCP clients, each run through a ToolExecutor (validation, timeout, output cap). */
  tools: readonly Tool[];
  /** When given, a `run_goal` tool runs a whole cadre run and returns its answer. */
  runGoal?: (goal: string, signal: AbortSignal) => Promise<string>;
  /** Server name and version reported at initialize. */
  name?: string;
  version?: string;
  /** Executor settings (timeout, output cap, policy and approval guards) for every MCP tool call. */
  executor?: Omit<ToolExecutorOptions, 'tools'>;
}

const text = (value: string, isError = false): CallToolResult => ({
  content: [{ type: 'text', text: value }],
  ...(isError ? { isError: true } : {}),
});

/** The MCP hints a client shows its user: what the tool changes, and whether repeating it is safe. */
function annotationsFor(tool: Tool): ToolAnnotations {
  return {
    readOnlyHint: tool.effects === 'read',
    destructiveHint: tool.effects === 'destructive',
    // A keyed tool is safe to repeat only with the same idempotency key, which a client need not send.
    idempotentHint: tool.idempotent === true,
    // Built-in tools that reach outside (http_fetch) say so in their description; default to closed.
    openWorldHint: false,
  };
}

/**
 * An MCP server (SDK `McpServer`) offering cadre tools and, optionally, `run_goal`. One instance
 * serves one client session; `serveHttp` takes a factory to serve many.
 */
export function createCadreMcpServer(options: CadreMcpServerOptions): McpServer {
  // Logging is declared so clients may set a level (logging/setLevel); cadre sends none yet.
  const server = new McpServer(
    { name: options.name ?? 'cadre', version: options.version ?? '0.1.0' },
    { capabilities: { logging: {} } },
  );
  const executor = new ToolExecutor({ ...options.executor, tools: options.tools });
  for (const tool of options.tools) {
    server.registerTool(
      tool.name,
      { description: tool.description, inputSchema: tool.input, annotations: annotationsFor(tool) },
      async (args, extra) => {
        // MCP calls are not part of a cadre run; ids only label the executor's events. A client's
        // idempotency key reaches keyed tools, so the client's own retries do not repeat an effect.
        const key = extra._meta?.[idempotencyMetaKey];
        const outcome = await executor.execute(
          { id: randomUUID(), name: tool.name, args },
          {
            runId: 'mcp',
            taskId: String(extra.sessionId ?? 'mcp'),
            step: 0,
            signal: extra.signal,
            ...(typeof key === 'string' && key ? { idempotencyKey: key } : {}),
          },
        );
        return text(outcome.output, !outcome.ok);
      },
    );
  }
  if (options.runGoal) {
    const runGoal = options.runGoal;
    server.registerTool(
      'run_goal',
      {
        description: 'Plan and carry out a goal with a team of cadre agents; returns the final answer.',
        inputSchema: z.object({ goal: z.string().min(1).max(20_000).describe('what to achieve, in plain words') }),
        annotations: {
          readOnlyHint: false,
          destructiveHint: options.tools.some((t) => t.effects === 'destructive'),
          idempotentHint: false,
          openWorldHint: true,
        },
      },
      async ({ goal }, extra) => {
        try {
          return text(await runGoal(goal, extra.signal));
        } catch (error) {
          const failure = CadreError.from(error, 'run_failed');
          return text(`Error (${failure.code}): ${failure.message}`, true);
        }
      },
    );
  }
  return server;
}
