import { callDigest, type ToolCallInfo, type ToolStep } from '../../src/core/index.js';
import { checkRecordedCall } from '../recorded-call.js';
import type { Tool } from '../../tools/define-tool.js';
import { ToolExecutor } from '../../tools/tool-executor.js';
import type { AgentContext, AgentTask } from '../agent.js';

/** What a tool call gave back to the trajectory. */
export interface Observation {
  callId: string;
  tool: string;
  ok: boolean;
  output: string;
}

/** The tools of a search, and whether calls with `write` or `destructive` effects may run. */
export interface SearchToolsOptions {
  tools: readonly Tool[];
  /** `refuse` (default): such calls are answered "not executed" and never run. */
  writes: 'refuse' | 'allow';
  agent: string;
  role?: string;
  timeoutMs?: number;
  outputMaxChars?: number;
}

/**
 * Runs a search's tool calls: read-only ones through the ToolExecutor (policy, approvals, audit,
 * journals), others refused unless allowed, since a search tries many trajectories and keeps one.
 * Each result is journaled under the node's key at its call's position, and replayed from there.
 */
export class SearchTools {
  private readonly executor: ToolExecutor;
  private readonly byName: Map<string, Tool>;

  constructor(private readonly options: SearchToolsOptions) {
    this.executor = new ToolExecutor({
      tools: [...options.tools],
      timeoutMs: options.timeoutMs,
      outputMaxChars: options.outputMaxChars,
    });
    this.byName = new Map(options.tools.map((t) => [t.name, t]));
  }

  /**
   * The `n`th call (from 1) of the node journaled under `key`, made at `step` of the task;
   * `replayed` when the reply that asked for it came from the journal.
   */
  async call(
    call: ToolCallInfo,
    at: { n: number; key: string; step: number; replayed: boolean },
    task: AgentTask,
    ctx: AgentContext,
  ): Promise<Observation> {
    const { n, key, step } = at;
    const recorded = (await ctx.journal.replay(ctx.runId, key)).find(
      (s): s is ToolStep => s.kind === 'tool' && s.call === String(n),
    );
    if (recorded) {
      checkRecordedCall(recorded, call, at.replayed, String(n));
      return { callId: call.id, tool: call.name, ok: recorded.ok, output: recorded.output };
    }
    const tool = this.byName.get(call.name);
    const denied = (task.tools && !task.tools.includes(call.name)) || !tool;
    if (!denied && tool.effects !== 'read' && this.options.writes !== 'allow') {
      // Nothing runs and nothing is journaled: the refusal is the same every time it is asked.
      const output = `Not executed: "${call.name}" has ${tool.effects} effects, and trajectories explored by the search are read-only. Say in your answer what it would do instead.`;
      ctx.events.emit({
        type: 'tool.result',
        taskId: task.id,
        step,
        callId: call.id,
        tool: call.name,
        ok: false,
        output,
        error: { code: 'tool_denied', kind: 'user', message: output },
        truncated: false,
        attempts: 0,
        durationMs: 0,
        replayed: false,
      });
      return { callId: call.id, tool: call.name, ok: false, output };
    }
    const outcome = denied
      ? {
          callId: call.id,
          tool: call.name,
          ok: false,
          output: `Error: tool "${call.name}" is not allowed for this task`,
        }
      : await this.executor.execute(call, {
          runId: ctx.runId,
          taskId: task.id,
          step,
          signal: ctx.signal,
          events: ctx.events,
          journalKey: key,
          callKey: String(n),
          attempt: task.attempt ?? 1,
          ...(ctx.toolJournal ? { journal: ctx.toolJournal } : {}),
          ...ctx.guards,
          agent: this.options.agent,
          ...(this.options.role ? { role: this.options.role } : {}),
        });
    await ctx.journal.append({
      kind: 'tool',
      runId: ctx.runId,
      taskId: key,
      index: n,
      call: String(n),
      callId: call.id,
      tool: call.name,
      args: call.args,
      digest: callDigest(call.name, call.args),
      ok: outcome.ok,
      output: outcome.output,
    });
    return { callId: call.id, tool: call.name, ok: outcome.ok, output: outcome.output };
  }
}
