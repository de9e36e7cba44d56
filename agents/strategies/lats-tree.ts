import type { ToolCallInfo } from '../../src/core/index.js';
import type { Observation } from './search-tools.js';

/** One step of a trajectory: a reply and what its tool calls gave back, with its search statistics. */
export interface LatsNode {
  /** `r` for the root, `r.2.1` for the first child of its second child. */
  id: string;
  parent?: LatsNode;
  children: LatsNode[];
  depth: number;
  content: string;
  toolCalls: ToolCallInfo[];
  observations: Observation[];
  /** Set when the reply answered instead of calling tools. */
  answer?: string;
  success?: boolean;
  /** Why the evaluator failed the answer. */
  feedback?: string;
  value: number;
  visits: number;
  total: number;
  /** Nothing is left to try below it: it hit the depth limit, or every child has ended. */
  spent: boolean;
}

/** A node with no statistics yet. */
export const newNode = (
  fields: Pick<LatsNode, 'id' | 'depth' | 'content' | 'toolCalls'> & { parent?: LatsNode },
): LatsNode => ({
  children: [],
  observations: [],
  value: 0,
  visits: 0,
  total: 0,
  spent: false,
  ...fields,
});

/** The nodes from the root's first child down to `node`: the trajectory it ends. */
export function pathTo(node: LatsNode): LatsNode[] {
  const nodes: LatsNode[] = [];
  for (let n: LatsNode | undefined = node; n?.parent; n = n.parent) nodes.unshift(n);
  return nodes;
}

/**
 * The most promising node to expand, by UCT from the root: the first on the way down with fewer
 * than `width` children. Undefined when every trajectory has ended.
 */
export function selectNode(root: LatsNode, width: number, exploration: number): LatsNode | undefined {
  for (;;) {
    let node = root;
    for (;;) {
      if (node.children.length < width) return node;
      const open = node.children.filter((c) => c.answer === undefined && !c.spent);
      if (!open.length) break;
      const parent = node;
      const uct = (c: LatsNode) =>
        c.total / Math.max(1, c.visits) + exploration * Math.sqrt(Math.log(parent.visits + 1) / Math.max(1, c.visits));
      node = open.reduce((best, c) => (uct(c) > uct(best) ? c : best));
    }
    // Every child of this node has ended: close it, and look again from the root.
    node.spent = true;
    if (node === root) return undefined;
  }
}

/** Adds a reward to the node and every node above it. */
export function backpropagate(node: LatsNode, reward: number): void {
  for (let n: LatsNode | undefined = node; n; n = n.parent) {
    n.visits += 1;
    n.total += reward;
  }
}
