import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CadreError } from 'cadre';
import {
  checkTaskGraph,
  readyTasks,
  renderTaskGraph,
  topologicalOrder,
  validateTaskGraph,
  type TaskGraph,
} from 'cadre/planners';

const roles = ['researcher', 'writer'];
const task = (id: string, dependsOn: string[] = [], role = 'researcher') => ({
  id,
  title: id,
  instruction: `do ${id}`,
  role,
  dependsOn,
});

/** Reference check, written independently: DFS over existing edges. */
function acyclicWithKnownDeps(edges: Map<string, string[]>): boolean {
  for (const deps of edges.values()) if (deps.some((d) => !edges.has(d))) return false;
  const colour = new Map<string, number>();
  const dfs = (n: string): boolean => {
    colour.set(n, 1);
    for (const d of edges.get(n)!) {
      if (colour.get(d) === 1) return false;
      if (!colour.has(d) && !dfs(d)) return false;
    }
    colour.set(n, 2);
    return true;
  };
  return [...edges.keys()].every((n) => colour.has(n) || dfs(n));
}

const arbitraryGraph = fc
  .integer({ min: 1, max: 9 })
  .chain((n) =>
    fc.tuple(
      fc.constant(n),
      fc.array(fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n + 1 })), { maxLength: 14 }),
    ),
  )
  .map(([n, pairs]) => {
    const edges = new Map<string, string[]>(Array.from({ length: n }, (_, i) => [`t${i}`, []]));
    for (const [from, to] of pairs) {
      const deps = edges.get(`t${from}`)!;
      if (!deps.includes(`t${to}`)) deps.push(`t${to}`);
    }
    return edges;
  });

const dagArbitrary = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.array(fc.array(fc.integer({ min: 0, max: n }), { maxLength: 3 }), { minLength: n, maxLength: n }).map((lists) => ({
    goal: 'g',
    tasks: lists.map((deps, i) => task(`t${i}`, [...new Set(deps.filter((d) => d < i).map((d) => `t${d}`))])),
  })),
);

describe('validateTaskGraph', () => {
  it('accepts exactly the acyclic graphs whose dependencies exist (property)', () => {
    fc.assert(
      fc.property(arbitraryGraph, (edges) => {
        const graph = { goal: 'g', tasks: [...edges].map(([id, deps]) => task(id, deps)) };
        const expected = acyclicWithKnownDeps(edges);
        const result = checkTaskGraph(graph, { roles });
        expect(result.ok).toBe(expected);
        if (!result.ok) {
          expect(result.problems.length).toBeGreaterThan(0);
          expect(
            result.problems.every((p) => ['cycle', 'unknown_dependency', 'self_dependency'].includes(p.code)),
          ).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('orders every task exactly once, after its dependencies (property)', () => {
    fc.assert(
      fc.property(dagArbitrary, (graph) => {
        const order = topologicalOrder(graph as TaskGraph).map((t) => t.id);
        expect([...order].sort()).toEqual(graph.tasks.map((t) => t.id).sort());
        for (const t of graph.tasks)
          for (const d of t.dependsOn) expect(order.indexOf(d)).toBeLessThan(order.indexOf(t.id));
      }),
      { numRuns: 300 },
    );
  });

  it('offers exactly the tasks not done, running or failed whose dependencies are all done, in plan order (property)', () => {
    const state = fc.record({
      done: fc.array(fc.nat(), { maxLength: 12 }),
      running: fc.array(fc.nat(), { maxLength: 3 }),
      failed: fc.array(fc.nat(), { maxLength: 2 }),
    });
    let offered = 0;
    fc.assert(
      fc.property(dagArbitrary, state, (graph, picks) => {
        const ids = (p: number[]) => new Set(p.map((i) => `t${i % graph.tasks.length}`));
        const [done, running, failed] = [ids(picks.done), ids(picks.running), ids(picks.failed)];
        const expected = graph.tasks
          .filter(
            (t) => !done.has(t.id) && !running.has(t.id) && !failed.has(t.id) && t.dependsOn.every((d) => done.has(d)),
          )
          .map((t) => t.id);
        const ready = readyTasks(graph as TaskGraph, { done, running, failed }).map((t) => t.id);
        expect(ready).toEqual(expected);
        offered += ready.length;
      }),
      { numRuns: 300 },
    );
    // Most states leave something to start; a generator that never did would prove nothing.
    expect(offered).toBeGreaterThan(300);
  });

  it('reports every problem at once, naming the cycle', () => {
    const graph = {
      goal: 'g',
      tasks: [task('a', ['c']), task('b', ['a']), task('c', ['b']), task('d', ['ghost'], 'poet'), task('a')],
    };
    try {
      validateTaskGraph(graph, { roles });
      expect.unreachable();
    } catch (error) {
      expect(CadreError.isInstance(error) && error.code).toBe('plan_invalid');
      const codes = ((error as CadreError).details.problems as { code: string }[]).map((p) => p.code).sort();
      expect(codes).toEqual(['cycle', 'duplicate_id', 'unknown_dependency', 'unknown_role']);
      expect((error as CadreError).message).toMatch(
        /Dependency cycle: (a -> c -> b -> a|c -> b -> a -> c|b -> a -> c -> b)/,
      );
    }
  });

  it('enforces size, depth and tool limits', () => {
    const chain = { goal: 'g', tasks: Array.from({ length: 5 }, (_, i) => task(`t${i}`, i ? [`t${i - 1}`] : [])) };
    expect(checkTaskGraph(chain, { roles, maxDepth: 4 })).toMatchObject({
      ok: false,
      problems: [{ code: 'too_deep' }],
    });
    expect(checkTaskGraph(chain, { roles, maxTasks: 3 })).toMatchObject({
      ok: false,
      problems: [{ code: 'too_many_tasks' }],
    });
    const withTool = { goal: 'g', tasks: [{ ...task('a'), tools: ['shell'] }] };
    expect(checkTaskGraph(withTool, { roles, tools: ['calculator'] })).toMatchObject({
      ok: false,
      problems: [{ code: 'unknown_tool' }],
    });
    expect(checkTaskGraph({ goal: 'g', tasks: [] }, { roles })).toMatchObject({
      ok: false,
      problems: [{ code: 'empty' }],
    });
    expect(checkTaskGraph({ goal: 'g', tasks: 'nope' }, { roles })).toMatchObject({
      ok: false,
      problems: [{ code: 'schema' }],
    });
    const badOutput = { goal: 'g', tasks: [{ ...task('a'), output: { schema: { type: 'banana' } } }] };
    expect(checkTaskGraph(badOutput, { roles })).toMatchObject({
      ok: false,
      problems: [{ code: 'schema', taskId: 'a', message: expect.stringMatching(/output schema/) }],
    });
  });

  it('renders the plan layer by layer', () => {
    const text = renderTaskGraph({ goal: 'g', tasks: [task('combine', ['x', 'y'], 'writer'), task('x'), task('y')] });
    expect(text.split('\n')).toEqual([
      ' 1. x [researcher] x (starts at once)',
      ' 1. y [researcher] y (starts at once)',
      ' 2. combine [writer] combine (after x, y)',
    ]);
  });
});
