import { z } from 'zod';
import { CadreError } from '../../src/core/index.js';
import type { Agent, AgentContext, AgentTask, TaskResult } from '../agent.js';
import { checkStrategyOptions, extractAnswer, fn, strategyShape, type StrategyOptions } from './strategy-options.js';
import { StrategyRun } from './strategy-run.js';
import { evaluatePrompt, parseProposals, parseValue, proposePrompt, type ThoughtState } from './thought-prompts.js';

/** How a tree of thoughts proposes, values and searches. */
export interface TreeOfThoughtsOptions extends StrategyOptions {
  /** How next thoughts are asked for and read. */
  propose?: {
    /** Default {@link proposePrompt}. */
    prompt?: (state: ThoughtState, count: number) => string;
    /** Default: one thought per line. */
    parse?: (reply: string) => string[];
    /** Thoughts asked for per node. Default: `breadth` + 3. */
    count?: number;
    /** Routing task kind. Default: the strategy's task kind. */
    kind?: string;
  };
  /** How a partial solution is valued. */
  evaluate?: {
    /** Default {@link evaluatePrompt} (sure / likely / impossible). */
    prompt?: (state: ThoughtState) => string;
    /** Reads a value, larger is better; default {@link parseValue}. Undefined counts as 0. */
    parse?: (reply: string) => number | undefined;
    /** Evaluations per node, averaged (the paper takes 3). Default 1. */
    samples?: number;
    /** Sampling temperature of evaluations when there are several. Default 0.7. */
    temperature?: number;
    /** Routing task kind. Default `classify`. */
    kind?: string;
  };
  /** `bfs` keeps the best `breadth` nodes of each level; `dfs` follows the best child first and backtracks. Default `bfs`. */
  search?: 'bfs' | 'dfs';
  /** Nodes kept per level (bfs), or children tried per node (dfs). Default 5. */
  breadth?: number;
  /** Most thoughts on a path, the answer included. Default 4. */
  depth?: number;
  /** Nodes valued below this are dropped. Default 0.01: a node every evaluation calls impossible. */
  prune?: number;
}

const shape = strategyShape({
  propose: z
    .object({
      prompt: fn().optional(),
      parse: fn().optional(),
      count: z.number().int().min(1).max(50).optional(),
      kind: z.string().min(1).optional(),
    })
    .optional(),
  evaluate: z
    .object({
      prompt: fn().optional(),
      parse: fn().optional(),
      samples: z.number().int().min(1).max(20).optional(),
      temperature: z.number().min(0).max(2).optional(),
      kind: z.string().min(1).optional(),
    })
    .optional(),
  search: z.enum(['bfs', 'dfs']).optional(),
  breadth: z.number().int().min(1).max(50).optional(),
  depth: z.number().int().min(1).max(20).optional(),
  prune: z.number().optional(),
});

/** The search's size with its defaults: nodes kept per level, levels, thoughts asked per node, evaluations per node. */
const searchSize = (options: TreeOfThoughtsOptions) => {
  const breadth = options.breadth ?? 5;
  return {
    breadth,
    depth: options.depth ?? 4,
    count: options.propose?.count ?? breadth + 3,
    samples: options.evaluate?.samples ?? 1,
  };
};

/**
 * The most model calls one task can take with these options: for `bfs`, one proposal and its
 * evaluations at the root, then at most `breadth` of each per level; for `dfs`, every kept child
 * expanded in turn. Fewer in practice: pruned nodes are not expanded and a state reached twice is
 * valued once. For setting a task's step limit.
 */
export function treeOfThoughtsMaxCalls(options: TreeOfThoughtsOptions = {}): number {
  checkStrategyOptions('treeOfThoughts', shape, options);
  const { breadth, depth, count, samples } = searchSize(options);
  const perNode = 1 + count * samples;
  if (options.search === 'dfs') {
    let expanded = 0;
    for (let level = 0; level < depth; level++) expanded += breadth ** level;
    return expanded * perNode;
  }
  return perNode + (depth - 1) * breadth * perNode;
}

/** A node of the tree: its id (`r.2.1`: second child of the root, then its first), thoughts and value. */
interface ThoughtNode {
  id: string;
  thoughts: string[];
  value: number;
  /** The answer a terminal thought gives. */
  answer?: string;
}

/**
 * Tree of Thoughts (Yao et al. 2023): the model proposes next thoughts for each partial solution,
 * values them (sure / likely / impossible, or a score), and a breadth- or depth-first search keeps
 * the best. A thought with an `Answer:` line ends its path. Every node is a `strategy.node` event,
 * and every call is journaled under the node's id (`<task>/tot/r.2/propose`, `.../value-1`), so a
 * re-run replays the whole tree.
 */
export function treeOfThoughts(options: TreeOfThoughtsOptions = {}): Agent {
  checkStrategyOptions('treeOfThoughts', shape, options);
  const { breadth, depth, count } = searchSize(options);
  const prune = options.prune ?? 0.01;
  const extract = options.extract ?? extractAnswer;
  return {
    name: options.name ?? 'tree-of-thoughts',
    ...(options.role ? { role: options.role } : {}),
    async run(task: AgentTask, ctx: AgentContext): Promise<TaskResult> {
      const run = new StrategyRun(task, ctx, 'tree-of-thoughts', options.model);
      const kind = options.taskKind ?? task.kind ?? 'reason';
      const system = options.instructions ?? 'You solve problems one small step at a time.';
      const values = new Map<string, Promise<number>>();
      let valued = 0;

      const propose = async (node: ThoughtNode): Promise<ThoughtNode[]> => {
        const state = { task, thoughts: node.thoughts };
        const reply = await run.call({
          key: `tot/${node.id}/propose`,
          kind: options.propose?.kind ?? kind,
          system,
          prompt: (options.propose?.prompt ?? proposePrompt)(state, count),
        });
        const thoughts = [...new Set((options.propose?.parse ?? parseProposals)(reply.content))].slice(0, count);
        return thoughts.map((thought, i) => {
          const answer = extract(thought);
          return {
            id: `${node.id}.${i + 1}`,
            thoughts: [...node.thoughts, thought],
            value: 0,
            ...(answer !== undefined ? { answer } : {}),
          };
        });
      };

      const value = (node: ThoughtNode): Promise<number> => {
        const prompt = (options.evaluate?.prompt ?? evaluatePrompt)({ task, thoughts: node.thoughts });
        // The same partial solution reached twice is valued once, under the first node's key.
        let cached = values.get(prompt);
        if (!cached) {
          const samples = options.evaluate?.samples ?? 1;
          cached = Promise.all(
            Array.from({ length: samples }, (_, s) =>
              run.call({
                key: `tot/${node.id}/value-${s + 1}`,
                kind: options.evaluate?.kind ?? 'classify',
                system,
                prompt,
                ...(samples > 1 ? { temperature: options.evaluate?.temperature ?? 0.7 } : {}),
              }),
            ),
          ).then((replies) => {
            const parse = options.evaluate?.parse ?? parseValue;
            return replies.reduce((sum, r) => sum + (parse(r.content) ?? 0), 0) / replies.length;
          });
          values.set(prompt, cached);
        }
        return cached;
      };

      /** Proposes and values the children of `nodes`; keeps the best `breadth` above the prune line, best first. */
      const expand = async (nodes: ThoughtNode[], level: number): Promise<ThoughtNode[]> => {
        const children = (await Promise.all(nodes.map(propose))).flat();
        await Promise.all(children.map(async (child) => (child.value = await value(child))));
        valued += children.length;
        // Stable: equal values keep the order in which they were proposed.
        const kept = children
          .filter((c) => c.value >= prune)
          .sort((a, b) => b.value - a.value)
          .slice(0, breadth);
        for (const child of children) {
          run.emit({
            type: 'strategy.node',
            node: child.id,
            parent: child.id.slice(0, child.id.lastIndexOf('.')),
            depth: level,
            text: child.thoughts.at(-1)!,
            value: child.value,
            status: !kept.includes(child) ? 'pruned' : child.answer !== undefined ? 'answer' : 'kept',
          });
        }
        return kept;
      };

      const root: ThoughtNode = { id: 'r', thoughts: [], value: 0 };
      const best = options.search === 'dfs' ? await depthFirst(root, 1) : await breadthFirst();

      async function breadthFirst(): Promise<ThoughtNode | undefined> {
        let frontier = [root];
        const answers: ThoughtNode[] = [];
        for (let level = 1; level <= depth && frontier.length; level++) {
          const kept = await expand(frontier, level);
          answers.push(...kept.filter((n) => n.answer !== undefined));
          // The level's best node is an answer: deeper search could only find what it ranks lower.
          if (kept[0]?.answer !== undefined) break;
          frontier = kept.filter((n) => n.answer === undefined);
        }
        return answers.sort((a, b) => b.value - a.value)[0];
      }

      async function depthFirst(node: ThoughtNode, level: number): Promise<ThoughtNode | undefined> {
        if (level > depth) return undefined;
        for (const child of await expand([node], level)) {
          if (child.answer !== undefined) return child;
          const found = await depthFirst(child, level + 1);
          if (found) return found;
        }
        return undefined;
      }

      if (!best?.answer) {
        const { usage, costUsd } = run.result('');
        run.emit({ type: 'strategy.decided', answer: '', calls: run.calls, nodes: valued, solved: false });
        throw new CadreError('task_failed', `No thought of task ${task.id} reached an answer within depth ${depth}`, {
          details: { calls: run.calls, nodes: valued, usage, costUsd },
        });
      }
      run.emit({ type: 'strategy.decided', answer: best.answer, calls: run.calls, nodes: valued, solved: true });
      return run.result(best.answer);
    },
  };
}
