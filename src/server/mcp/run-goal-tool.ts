import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CadreError } from '../../core/index.js';
import type { ClientLog } from './client-log.js';
import type { RunGoal } from './run-goal.js';
import { runUri } from './run-list.js';
import type { RunWatch } from './run-watch.js';

/**
 * The `run_goal` tool: one cadre run per call through `runGoal`, with the registered team the
 * client names (when there are teams), progress logged, and a link to the run when runs are resources.
 */
export function registerRunGoal(
  server: McpServer,
  runGoal: RunGoal,
  options: {
    teams: readonly string[];
    log: ClientLog;
    watch: RunWatch | undefined;
    /** Whether run resources exist to link the run to. */
    linkRuns: boolean;
    destructive: boolean;
  },
): void {
  const [first, ...rest] = options.teams;
  const team =
    first === undefined
      ? undefined
      : z
          .enum([first, ...rest])
          .optional()
          .describe('the registered team to run; default: the built-in roles');
  server.registerTool(
    'run_goal',
    {
      description: 'Plan and carry out a goal with a team of cadre agents; returns the final answer.',
      inputSchema: z.object({
        goal: z.string().min(1).max(20_000).describe('what to achieve, in plain words'),
        ...(team ? { team } : {}),
      }),
      annotations: {
        readOnlyHint: false,
        destructiveHint: options.destructive,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    async (args, extra) => {
      const { goal } = args;
      const named = (args as { team?: string }).team;
      let runId: string | undefined;
      const link = (): CallToolResult['content'] =>
        options.linkRuns && runId
          ? [{ type: 'resource_link', uri: runUri(runId), name: runId, mimeType: 'application/json' }]
          : [];
      try {
        const answer = await runGoal(goal, extra.signal, {
          ...(named !== undefined ? { team: named } : {}),
          onRunStarted: (id) => {
            runId = id;
            options.log(extra, 'info', { message: `run ${id} started`, runId: id, ...(named ? { team: named } : {}) });
            // The run is in the store now: tell list watchers without waiting for the next look.
            void options.watch?.look();
          },
        });
        options.log(extra, 'info', { message: runId ? `run ${runId} completed` : 'run_goal completed', runId });
        return { content: [{ type: 'text', text: answer }, ...link()] };
      } catch (error) {
        const failure = CadreError.from(error, 'run_failed');
        if (typeof failure.details.runId === 'string') runId ??= failure.details.runId;
        options.log(extra, 'error', { message: failure.message, code: failure.code, runId });
        return {
          content: [{ type: 'text', text: `Error (${failure.code}): ${failure.message}` }, ...link()],
          isError: true,
        };
      }
    },
  );
}
