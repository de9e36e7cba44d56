import { z } from 'zod';
import { CadreError } from '../src/core/index.js';
import { defineTool, type Tool } from '../tools/define-tool.js';
import type { AgentContext } from './agent.js';
import type { RoleRegistry } from './roles.js';

/** What {@link createDelegateTool} needs: the roles to ask and the run they work in. */
export interface DelegateToolOptions {
  /** Resolved lazily so the tool can be handed to the registry that it delegates to. */
  roles: () => RoleRegistry;
  /** The run's shared services; sub-questions spend the same budget and journal. */
  context: () => AgentContext;
  /** How deep delegation may nest (a delegate asking a delegate ...). Default 2. */
  maxDepth?: number;
}

const separator = '>';

/** How many delegations deep a task id is: `t1` is 0, `t1>call_1` is 1. */
export const delegationDepth = (taskId: string): number => taskId.split(separator).length - 1;

/**
 * `delegate`: an agent asks another role a sub-question and waits for the answer. The sub-task is
 * journaled under `<task>><call>`, so a resumed run replays it instead of asking again.
 */
export function createDelegateTool(options: DelegateToolOptions): Tool {
  const maxDepth = options.maxDepth ?? 2;
  return defineTool({
    name: 'delegate',
    description: 'Ask a teammate with another role a focused sub-question and wait for the answer.',
    input: z.object({
      role: z.string().min(1).describe('the role to ask'),
      question: z.string().min(1).describe('a self-contained question'),
    }),
    effects: 'read',
    idempotent: false,
    timeoutMs: 10 * 60_000,
    async run({ role, question }, tool) {
      const depth = delegationDepth(tool.taskId) + 1;
      if (depth > maxDepth) {
        throw new CadreError(
          'delegation_failed',
          `Delegation is limited to ${maxDepth} levels; answer this part yourself`,
          { kind: 'user' },
        );
      }
      const registry = options.roles();
      if (!registry.names().includes(role)) {
        throw new CadreError('input_invalid', `No role "${role}"; roles: ${registry.names().join(', ')}`);
      }
      const ctx = options.context();
      const taskId = `${tool.taskId}${separator}${tool.callId}`;
      ctx.events.emit({ type: 'task.delegated', taskId, role, question, depth });
      const result = await registry
        .get(role)
        .run({ id: taskId, instruction: question }, { ...ctx, signal: tool.signal });
      return result.answer;
    },
  });
}
