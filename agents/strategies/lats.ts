import { z } from 'zod';
import { CadreError } from '../../src/core/index.js';
import type { Tool } from '../../tools/define-tool.js';
import { toLangChainTool } from '../../tools/langchain.js';
import { modelVisibleTools } from '../../tools/policy/index.js';
import type { Agent, AgentContext, AgentTask, TaskResult } from '../agent.js';
import type { Evaluator } from '../evaluators.js';
import {
  describeStep,
  latsInstructions,
  latsSystem,
  parseScore,
  reflectPrompt,
  rewardPrompt,
  trajectoryMessages,
  valuePrompt,
} from './lats-prompts.js';
import { backpropagate, newNode, selectNode, type LatsNode } from './lats-tree.js';
import { SearchTools } from './search-tools.js';
import { checkStrategyOptions, extractAnswer, fn, strategyShape, type StrategyOptions } from './strategy-options.js';
import { StrategyRun, taskText } from './strategy-run.js';

/** How LATS searches: iterations, children per expansion, rollouts, and how answers are judged. */
export interface LatsOptions extends StrategyOptions {
  /** Tools trajectories may call. */
  tools?: readonly Tool[];
  /** Rounds of select, expand, evaluate, simulate, backpropagate and reflect. Default 8. */
  iterations?: number;
  /** Children sampled when a node is expanded. Default 3. */
  expand?: number;
  rollout?: {
    /** Steps a simulation takes past the expanded node before it is judged. Default 3. */
    depth?: number;
    /**
     * `refuse` (default): calls to tools with `write` or `destructive` effects are never executed
     * while the search explores; the model is told so. `allow` runs them (under the run's policy).
     */
    writes?: 'refuse' | 'allow';
  };
  /** Most steps in one trajectory. Default 8. */
  maxDepth?: number;
  /** Judges a finished trajectory's answer; default: the model scores it, and 9 of 10 or more passes. */
  evaluator?: Evaluator;
  /** UCT's exploration weight. Default 1. */
  exploration?: number;
  /** Sampling temperature of expansions. Default 0.7. */
  temperature?: number;
  /** Per-call tool timeout when a tool sets none. Default 30 s. */
  toolTimeoutMs?: number;
  /** Longest tool output passed back to the model. Default 16,000 characters. */
  toolOutputMaxChars?: number;
}

const shape = strategyShape({
  tools: z.array(z.object({ name: z.string() }).passthrough()).optional(),
  iterations: z.number().int().min(1).max(200).optional(),
  expand: z.number().int().min(1).max(20).optional(),
  rollout: z
    .object({ depth: z.number().int().min(0).max(50).optional(), writes: z.enum(['refuse', 'allow']).optional() })
    .optional(),
  maxDepth: z.number().int().min(1).max(100).optional(),
  evaluator: fn().optional(),
  exploration: z.number().min(0).optional(),
  temperature: z.number().min(0).max(2).optional(),
  toolTimeoutMs: z.number().positive().optional(),
  toolOutputMaxChars: z.number().int().positive().optional(),
});

/**
 * Language Agent Tree Search (Zhou et al. 2023): Monte Carlo tree search over ReAct trajectories.
 * Each iteration selects a node by UCT, samples `expand` next steps, values them, simulates
 * onwards from the best, backpropagates the result, and reflects on failed answers so later
 * expansions see the lesson. Tools with effects do not run while it explores unless
 * `rollout.writes` is `allow`. Every call is journaled under its node (`<task>/lats/r.2.1`), so a
 * re-run replays the search.
 */
export function lats(options: LatsOptions = {}): Agent {
  checkStrategyOptions('lats', shape, options);
  const iterations = options.iterations ?? 8;
  const width = options.expand ?? 3;
  const rolloutDepth = options.rollout?.depth ?? 3;
  const maxDepth = options.maxDepth ?? 8;
  const exploration = options.exploration ?? 1;
  const extract = options.extract ?? extractAnswer;
  const name = options.name ?? 'lats';
  return {
    name,
    ...(options.role ? { role: options.role } : {}),
    async run(task: AgentTask, ctx: AgentContext): Promise<TaskResult> {
      const run = new StrategyRun(task, ctx, 'lats', options.model);
      const kind = options.taskKind ?? task.kind ?? 'agent';
      const visible = ctx.guards
        ? modelVisibleTools(options.tools ?? [], {
            ...ctx.guards,
            agent: name,
            ...(options.role ? { role: options.role } : {}),
          })
        : (options.tools ?? []);
      const tools = visible.filter((t) => !task.tools || task.tools.includes(t.name));
      const bound = tools.length ? { cadre: tools, langchain: tools.map((t) => toLangChainTool(t)) } : undefined;
      const searchTools = new SearchTools({
        tools,
        writes: options.rollout?.writes ?? 'refuse',
        agent: name,
        ...(options.role ? { role: options.role } : {}),
        ...(options.toolTimeoutMs ? { timeoutMs: options.toolTimeoutMs } : {}),
        ...(options.toolOutputMaxChars ? { outputMaxChars: options.toolOutputMaxChars } : {}),
      });
      const lessons: string[] = [];
      const answered: LatsNode[] = [];
      const root = { ...newNode({ id: 'r', depth: 0, content: '', toolCalls: [] }), visits: 1 };
      const text = taskText(task);
      const system = () => latsSystem(options.instructions ?? latsInstructions, lessons);

      /** One more step of the trajectory ending at `parent`: a sampled reply and its tool calls' results. */
      const step = async (parent: LatsNode, id: string): Promise<LatsNode> => {
        const reply = await run.call({
          key: `lats/${id}`,
          kind,
          system: system(),
          prompt: text,
          conversation: trajectoryMessages(system(), text, parent),
          ...(bound ? { tools: bound } : {}),
          temperature: options.temperature ?? 0.7,
        });
        const node = newNode({
          id,
          parent,
          depth: parent.depth + 1,
          content: reply.content,
          toolCalls: reply.toolCalls,
        });
        if (reply.toolCalls.length === 0) node.answer = extract(reply.content) ?? reply.content.trim();
        else {
          const stepNumber = run.calls;
          node.observations = await Promise.all(
            reply.toolCalls.map((call, i) =>
              searchTools.call(
                call,
                { n: i + 1, key: `${run.key}/lats/${id}`, step: stepNumber, replayed: reply.replayed },
                task,
                ctx,
              ),
            ),
          );
        }
        if (node.answer === undefined && node.depth >= maxDepth) node.spent = true;
        return node;
      };

      const score = async (prompt: string, key: string) => {
        const reply = await run.call({
          key,
          kind: 'classify',
          system: 'You judge work carefully and briefly.',
          prompt,
        });
        return parseScore(reply.content);
      };

      /** Values a node: a finished answer by the evaluator (or the model's judgement), else how promising it looks. */
      const evaluate = async (node: LatsNode): Promise<void> => {
        if (node.answer !== undefined) {
          if (options.evaluator) {
            const verdict = await options.evaluator({ task, answer: node.answer, attempt: 1, signal: ctx.signal });
            node.success = verdict.pass;
            node.feedback = verdict.feedback;
            node.value = verdict.pass ? 1 : Math.min(0.5, verdict.score ?? 0);
          } else {
            node.value = await score(rewardPrompt(text, node.answer), `lats/${node.id}/reward`);
            node.success = node.value >= 0.9;
          }
          answered.push(node);
        } else if (!node.spent) {
          node.value = await score(valuePrompt(text, node), `lats/${node.id}/value`);
        }
        announce(node, true);
      };

      /** A node's `strategy.node` event; a simulation's steps on the way have no value of their own. */
      const announce = (node: LatsNode, valued: boolean) =>
        run.emit({
          type: 'strategy.node',
          node: node.id,
          parent: node.parent!.id,
          depth: node.depth,
          text: node.answer !== undefined ? node.content : describeStep(node),
          ...(valued ? { value: node.value } : {}),
          status: node.answer === undefined ? (node.spent ? 'failed' : 'proposed') : node.success ? 'answer' : 'failed',
        });

      const reflect = async (node: LatsNode): Promise<void> => {
        const reply = await run.call({
          key: `lats/${node.id}/reflect`,
          kind: 'reflect',
          system: 'You review failed attempts at tasks and state plainly what to do differently.',
          prompt: reflectPrompt(text, node),
        });
        lessons.push(reply.content.trim());
        run.emit({
          type: 'strategy.node',
          node: `${node.id}/reflection`,
          parent: node.id,
          depth: node.depth,
          text: reply.content.trim(),
          status: 'reflected',
        });
      };

      let found: LatsNode | undefined;
      for (let i = 0; i < iterations && !found; i++) {
        const leaf = selectNode(root, width, exploration);
        if (!leaf) break;
        // Up to `expand` children: a node a simulation passed through already has one.
        const offset = leaf.children.length;
        const children = await Promise.all(
          Array.from({ length: width - offset }, (_, k) => step(leaf, `${leaf.id}.${offset + k + 1}`)),
        );
        leaf.children.push(...children);
        await Promise.all(children.map(evaluate));
        for (const child of children) backpropagate(child, child.value);
        found = children.find((c) => c.success);
        if (found) break;
        for (const child of children) if (child.answer !== undefined) await reflect(child);
        const open = children.filter((c) => c.answer === undefined && !c.spent).sort((a, b) => b.value - a.value)[0];
        if (!open) continue;
        // Simulate: follow one sampled step at a time from the best new node, then judge where it ends.
        let end = open;
        for (let d = 0; d < rolloutDepth && end.answer === undefined && !end.spent; d++) {
          const next = await step(end, `${end.id}.${end.children.length + 1}`);
          end.children.push(next);
          if (end !== open) announce(end, false);
          end = next;
        }
        if (end !== open) await evaluate(end);
        backpropagate(end, end.value);
        if (end.success) found = end;
        else if (end.answer !== undefined && end !== open) await reflect(end);
      }

      const best = found ?? answered.sort((a, b) => b.value - a.value)[0];
      if (!best?.answer) {
        const { usage, costUsd } = run.result('');
        run.emit({ type: 'strategy.decided', answer: '', calls: run.calls, solved: false });
        throw new CadreError('task_failed', `LATS found no answer to task ${task.id} in ${iterations} iterations`, {
          details: { calls: run.calls, usage, costUsd },
        });
      }
      run.emit({ type: 'strategy.decided', answer: best.answer, calls: run.calls, solved: best.success === true });
      return run.result(best.answer);
    },
  };
}
