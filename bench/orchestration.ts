/**
 * orchestration: what cadre's task-graph runtime costs around the agents, in four parts.
 *   1 makespan     seeded random 50-task DAGs with 20-200 ms tasks at concurrency 8: cadre's wall time
 *                  against a simulated 8-worker list schedule and the critical path (file database)
 *   2 overhead     ms per task at zero task latency, cadre vs a hand-written LangGraph Send fan-out,
 *                  for a 50+1 fan-out/join and a 5 x 10 chain of layers, in-memory and file checkpoints
 *   3 durability   SqliteStepJournal.append cost (synchronous NORMAL / FULL), checkpoint cost per task,
 *                  and time from resume() to the first new event of a run with 50 finished tasks
 *   4 scale        1,000 concurrent single-task runs on one shared file database, in a child process:
 *                  wall time, peak RSS and event-loop lag p99
 * Prints a table per part and writes bench/results/orchestration.json.
 *
 *   npm run bench:orchestration [-- --repeats 15 --seeds 5 --runs 1000 --quick]
 */
import { execFileSync } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import {
  Annotation,
  END,
  MemorySaver,
  START,
  Send,
  StateGraph,
  entrypoint,
  task as lgTask,
  type BaseCheckpointSaver,
} from '@langchain/langgraph';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { emptyUsage, openCadreStore, resume, run, type CadreEvent, type ModelStep, type RunResult } from 'cadre';
import type { Agent, AgentContext, AgentTask, RoleDefinition, TaskResult } from 'cadre/agents';
import {
  validateTaskGraph,
  type PlanContext,
  type PlanReport,
  type Planner,
  type TaskGraph,
  type TaskGraphInput,
} from 'cadre/planners';
import { ScriptedChatModel } from 'cadre/testing';
import { fmt, mulberry32, printTable } from './bench-kit.js';

// LangGraph's functional API adds an abort listener per task to one signal of its own: a 50-task
// layer passes Node's warning threshold of 10 with nothing leaking.
setMaxListeners(100);

// ---------------------------------------------------------------- shared pieces

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Sleeps `ms`, or rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = Number.isFinite(ms)
      ? setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, ms)
      : undefined;
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * An agent with a fixed latency per task (0: returns at once; Infinity: blocks until the run is
 * cancelled). It records how long each sleep really took, to tell timer error from scheduling.
 */
class SleepAgent implements Agent {
  readonly name = 'sleeper';
  readonly overshootMs: number[] = [];
  constructor(private readonly latencyOf: (taskId: string) => number) {}

  async run(task: AgentTask, ctx: AgentContext): Promise<TaskResult> {
    const ms = this.latencyOf(task.id);
    if (ms > 0) {
      const start = performance.now();
      await sleep(ms, ctx.signal);
      this.overshootMs.push(performance.now() - start - ms);
    }
    return {
      taskId: task.id,
      answer: task.id,
      steps: 1,
      replayedSteps: 0,
      usage: emptyUsage(),
      costUsd: 0,
      messages: [],
    };
  }
}

/**
 * StaticPlanner with the task-count and depth limits raised: the planner's defaults (50 tasks,
 * depth 12) guard model-written plans, and these synthetic graphs go past them (51 tasks, deep DAGs).
 */
class GraphPlanner implements Planner {
  constructor(private readonly graph: TaskGraphInput) {}
  async plan(_goal: string, context: PlanContext): Promise<PlanReport> {
    const graph = validateTaskGraph(this.graph, {
      roles: context.roles.map((r) => r.name),
      maxTasks: 10_000,
      maxDepth: 1_000,
    });
    return { graph, attempts: 0, rejected: [] };
  }
}

const model = new ScriptedChatModel({ replies: ['unused'] });
const roleOf = (agent: Agent): RoleDefinition[] => [
  { name: 'worker', description: 'carries out benchmark tasks', agent },
];
const configFor = (databasePath: string) => ({
  databasePath,
  concurrency: 8,
  ollamaHost: 'http://127.0.0.1:2',
  logLevel: 'silent' as const,
});

const task = (id: string, dependsOn: string[] = []) => ({
  id,
  title: id,
  instruction: `do ${id}`,
  role: 'worker',
  dependsOn,
});

/** When each task started and completed, in ms since run() was called. */
interface Timeline {
  started: Map<string, number>;
  completed: Map<string, number>;
}

async function cadreRun(
  graph: TaskGraphInput,
  agent: Agent,
  databasePath: string,
  timeline?: Timeline,
): Promise<{ ms: number; result: RunResult }> {
  const start = performance.now();
  const handle = run({
    goal: graph.goal,
    roles: roleOf(agent),
    planner: new GraphPlanner(graph),
    model,
    config: configFor(databasePath),
  });
  if (timeline) {
    handle.on('task.started', (e) => timeline.started.set(e.taskId, performance.now() - start));
    handle.on('task.completed', (e) => timeline.completed.set(e.taskId, performance.now() - start));
  }
  const result = await handle.result;
  const ms = performance.now() - start;
  if (result.status !== 'completed')
    throw new Error(`bench run ${result.runId} ended ${result.status}: ${result.error?.message ?? ''}`);
  return { ms, result };
}

const closeStore = (path: string) => openCadreStore({ path }).close();

// ---------------------------------------------------------------- 1 makespan

interface Dag {
  graph: TaskGraphInput;
  latency: Map<string, number>;
  layers: number;
}

/** Layers of random width 1..8 until `n` tasks; each task after the first layer depends on 1-3 earlier tasks. */
function randomDag(seed: number, n = 50, maxWidth = 8): Dag {
  const rand = mulberry32(seed);
  const tasks: ReturnType<typeof task>[] = [];
  const latency = new Map<string, number>();
  let layers = 0;
  while (tasks.length < n) {
    const earlier = tasks.map((t) => t.id);
    const width = Math.min(n - tasks.length, 1 + Math.floor(rand() * maxWidth));
    for (let i = 0; i < width; i++) {
      const id = `t${tasks.length}`;
      const deps = new Set<string>();
      if (layers > 0) {
        const k = Math.min(earlier.length, 1 + Math.floor(rand() * 3));
        while (deps.size < k) deps.add(earlier[Math.floor(rand() * earlier.length)]!);
      }
      tasks.push(task(id, [...deps]));
      latency.set(id, Math.round(20 + rand() * 180));
    }
    layers++;
  }
  return { graph: { goal: `random DAG seed ${seed}`, tasks }, latency, layers };
}

/** Longest path from each task to a sink, the task's own latency included. */
function bottomLevels(
  tasks: readonly { id: string; dependsOn: string[] }[],
  latency: Map<string, number>,
): Map<string, number> {
  const level = new Map<string, number>();
  for (const t of [...tasks].reverse()) {
    const after = tasks.filter((x) => x.dependsOn.includes(t.id)).map((x) => level.get(x.id)!);
    level.set(t.id, latency.get(t.id)! + Math.max(0, ...after));
  }
  return level;
}

/**
 * Greedy list schedule on `workers`. `priority`: when a worker is free, start the ready task with the
 * longest remaining path (the reference). `fifo`: start ready tasks in the order they became ready,
 * ties in plan order (what a FIFO concurrency limiter such as p-limit does).
 */
function listSchedule(
  tasks: readonly { id: string; dependsOn: string[] }[],
  latency: Map<string, number>,
  workers: number,
  policy: 'priority' | 'fifo' = 'priority',
): number {
  const level = bottomLevels(tasks, latency);
  const done = new Set<string>();
  const queued = new Set<string>();
  const queue: string[] = [];
  let running: Array<{ id: string; end: number }> = [];
  let now = 0;
  while (done.size < tasks.length) {
    for (const t of tasks) {
      if (!queued.has(t.id) && t.dependsOn.every((d) => done.has(d))) {
        queued.add(t.id);
        queue.push(t.id);
      }
    }
    if (policy === 'priority') queue.sort((a, b) => level.get(b)! - level.get(a)!);
    while (running.length < workers && queue.length > 0) {
      const id = queue.shift()!;
      running.push({ id, end: now + latency.get(id)! });
    }
    now = Math.min(...running.map((r) => r.end));
    for (const r of running) if (r.end === now) done.add(r.id);
    running = running.filter((r) => r.end !== now);
  }
  return now;
}

async function benchMakespan(seeds: number, repeats: number, dir: string) {
  const dbPath = join(dir, 'makespan.db');
  // Warm-up: imports, JIT, the database file.
  await cadreRun({ goal: 'warm-up', tasks: [task('a'), task('b', ['a'])] }, new SleepAgent(() => 5), dbPath);
  const rows = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const dag = randomDag(seed);
    const tasks = dag.graph.tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn ?? [] }));
    const sum = [...dag.latency.values()].reduce((a, b) => a + b, 0);
    const criticalPath = Math.max(...bottomLevels(tasks, dag.latency).values());
    const lowerBound = Math.max(criticalPath, sum / 8);
    const list = listSchedule(tasks, dag.latency, 8);
    const fifo = listSchedule(tasks, dag.latency, 8, 'fifo');
    const walls: number[] = [];
    const overshoot: number[] = [];
    const startup: number[] = [];
    const tail: number[] = [];
    const dispatch: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const agent = new SleepAgent((id) => dag.latency.get(id) ?? 0);
      const timeline: Timeline = { started: new Map(), completed: new Map() };
      const { ms } = await cadreRun(dag.graph, agent, dbPath, timeline);
      walls.push(ms);
      overshoot.push(...agent.overshootMs);
      startup.push(Math.min(...timeline.started.values()));
      tail.push(ms - Math.max(...timeline.completed.values()));
      // Per task: from its agent returning (start + latency + timer error) to task.completed, i.e. what the runtime adds.
      for (const t of tasks)
        dispatch.push(timeline.completed.get(t.id)! - timeline.started.get(t.id)! - dag.latency.get(t.id)!);
    }
    const wall = median(walls);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    rows.push({
      seed,
      tasks: tasks.length,
      layers: dag.layers,
      sumMs: sum,
      criticalPathMs: criticalPath,
      lowerBoundMs: lowerBound,
      listScheduleMs: list,
      fifoScheduleMs: fifo,
      cadreMs: wall,
      cadreRuns: walls,
      vsListSchedule: wall / list,
      vsFifoSchedule: wall / fifo,
      vsCriticalPath: wall / criticalPath,
      vsLowerBound: wall / lowerBound,
      startupMs: median(startup),
      tailMs: median(tail),
      meanTaskSpanOverLatencyMs: mean(dispatch),
      meanSleepOvershootMs: mean(overshoot),
    });
  }
  closeStore(dbPath);
  return rows;
}

// ---------------------------------------------------------------- 2 overhead per task

type Shape = 'diamond' | 'fanout' | 'layers';
const shapes: Record<Shape, { graph: TaskGraphInput; layers: string[][]; tasks: number }> = {
  // 1 -> 8 -> 1: a root, eight tasks that need it, and a join of the eight.
  diamond: (() => {
    const ids = Array.from({ length: 8 }, (_, i) => `w${i}`);
    return {
      graph: { goal: '1 -> 8 -> 1', tasks: [task('root'), ...ids.map((id) => task(id, ['root'])), task('join', ids)] },
      layers: [['root'], ids, ['join']],
      tasks: 10,
    };
  })(),
  fanout: (() => {
    const ids = Array.from({ length: 50 }, (_, i) => `w${i}`);
    return {
      graph: { goal: 'fan-out 50 + join', tasks: [...ids.map((id) => task(id)), task('join', ids)] },
      layers: [ids, ['join']],
      tasks: 51,
    };
  })(),
  layers: (() => {
    const layers = Array.from({ length: 5 }, (_, l) => Array.from({ length: 10 }, (_, i) => `l${l}_${i}`));
    const tasks = layers.flatMap((layer, l) => layer.map((id) => task(id, l === 0 ? [] : layers[l - 1]!)));
    return { graph: { goal: '5 layers x 10', tasks }, layers, tasks: 50 };
  })(),
};

const WorkInput = Annotation.Root({ id: Annotation<string> });
const FanState = Annotation.Root({
  ids: Annotation<string[]>,
  results: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});
const LayerState = Annotation.Root({
  layers: Annotation<string[][]>,
  results: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

/** The same work as raw LangGraph: `dispatch` sends each ready task to `work`, a reducer appends results. */
function rawGraph(shape: Shape, checkpointer: BaseCheckpointSaver) {
  if (shape === 'fanout') {
    return new StateGraph(FanState)
      .addNode('work', (input: typeof WorkInput.State) => ({ results: [input.id] }), { input: WorkInput })
      .addNode('join', () => ({ results: ['join'] }))
      .addConditionalEdges(START, (s) => s.ids.map((id) => new Send('work', { id })), ['work'])
      .addEdge('work', 'join')
      .addEdge('join', END)
      .compile({ checkpointer });
  }
  // Layer by layer: `schedule` sends the next layer once the previous one is done.
  return new StateGraph(LayerState)
    .addNode('schedule', () => ({}))
    .addNode('work', (input: typeof WorkInput.State) => ({ results: [input.id] }), { input: WorkInput })
    .addEdge(START, 'schedule')
    .addConditionalEdges(
      'schedule',
      (s) => {
        let done = s.results.length;
        for (const layer of s.layers) {
          if (done === 0) return layer.map((id) => new Send('work', { id }));
          done -= layer.length;
        }
        return END;
      },
      ['work', END],
    )
    .addEdge('work', 'schedule')
    .compile({ checkpointer });
}

/**
 * The same work in LangGraph's functional API, as cadre's workflow is written: an entrypoint that
 * awaits each layer's tasks together, every task result checkpointed.
 */
function functionalFlow(checkpointer: BaseCheckpointSaver) {
  const work = lgTask('work', async (id: string) => id);
  return entrypoint({ name: 'layers', checkpointer }, async (layers: string[][]) => {
    const results: string[] = [];
    for (const layer of layers) results.push(...(await Promise.all(layer.map((id) => work(id)))));
    return { results };
  });
}

type Variant = 'cadre-memory' | 'cadre-file' | 'raw-memory' | 'raw-file' | 'functional-memory' | 'functional-file';

async function benchOverhead(repeats: number, dir: string) {
  const agent = new SleepAgent(() => 0);
  const cadreFile = join(dir, 'overhead-cadre.db');
  const rawFile = join(dir, 'overhead-raw.db');
  const rawDb = new Database(rawFile);
  rawDb.pragma('journal_mode = WAL');
  rawDb.pragma('synchronous = NORMAL'); // as cadre's default durability
  const sqliteSaver = new SqliteSaver(rawDb);
  let thread = 0;
  const runners: Record<Variant, (shape: Shape) => () => Promise<unknown>> = {
    'cadre-memory': (shape) => () => cadreRun(shapes[shape].graph, agent, ':memory:'),
    'cadre-file': (shape) => () => cadreRun(shapes[shape].graph, agent, cadreFile),
    'raw-memory': (shape) => {
      const graph = rawGraph(shape, new MemorySaver());
      const input = shape === 'fanout' ? { ids: shapes.fanout.layers[0]! } : { layers: shapes[shape].layers };
      return () => graph.invoke(input as never, { configurable: { thread_id: `t${thread++}` } });
    },
    'raw-file': (shape) => {
      const graph = rawGraph(shape, sqliteSaver);
      const input = shape === 'fanout' ? { ids: shapes.fanout.layers[0]! } : { layers: shapes[shape].layers };
      return () => graph.invoke(input as never, { configurable: { thread_id: `t${thread++}` } });
    },
    'functional-memory': (shape) => {
      const flow = functionalFlow(new MemorySaver());
      return () => flow.invoke(shapes[shape].layers, { configurable: { thread_id: `t${thread++}` } });
    },
    'functional-file': (shape) => {
      const flow = functionalFlow(sqliteSaver);
      return () => flow.invoke(shapes[shape].layers, { configurable: { thread_id: `t${thread++}` } });
    },
  };
  const results: Array<{ shape: Shape; variant: Variant; tasks: number; msPerTask: number; runsMs: number[] }> = [];
  const variants = Object.keys(runners) as Variant[];
  for (const shape of Object.keys(shapes) as Shape[]) {
    const once = new Map(variants.map((v) => [v, runners[v](shape)]));
    const runsMs = new Map(variants.map((v) => [v, [] as number[]]));
    for (const v of variants) for (let i = 0; i < 3; i++) await once.get(v)!(); // warm-up
    // Round-robin, rotating the order, so background load hits every variant alike.
    for (let i = 0; i < repeats; i++) {
      for (let k = 0; k < variants.length; k++) {
        const v = variants[(i + k) % variants.length]!;
        const start = performance.now();
        const out = await once.get(v)!();
        runsMs.get(v)!.push(performance.now() - start);
        if (!v.startsWith('cadre') && (out as { results: string[] }).results.length !== shapes[shape].tasks) {
          throw new Error(`${v} ${shape} ran ${(out as { results: string[] }).results.length} tasks`);
        }
      }
    }
    for (const v of variants)
      results.push({
        shape,
        variant: v,
        tasks: shapes[shape].tasks,
        msPerTask: median(runsMs.get(v)!) / shapes[shape].tasks,
        runsMs: runsMs.get(v)!,
      });
  }
  closeStore(cadreFile);
  rawDb.close();
  return results;
}

// ---------------------------------------------------------------- 3 journal, checkpoint, resume

function benchJournal(dir: string) {
  const rows = [];
  for (const durability of ['normal', 'full'] as const) {
    const path = join(dir, `journal-${durability}.db`);
    const store = openCadreStore({ path, durability });
    const count = durability === 'normal' ? 5000 : 500;
    const step = (index: number): ModelStep => ({
      kind: 'model',
      runId: 'run_journal_bench',
      taskId: 'task_1',
      index,
      model: 'scripted',
      content: 'The answer is forty-two, as computed from the inputs given by the earlier task.',
      toolCalls: [],
      usage: { inputTokens: 120, outputTokens: 18, totalTokens: 138 },
      costUsd: 0,
    });
    const bytes = JSON.stringify(step(0)).length;
    for (let i = 0; i < 50; i++) store.steps.append({ ...step(i), runId: 'warm-up' });
    const start = performance.now();
    for (let i = 0; i < count; i++) store.steps.append(step(i));
    const us = ((performance.now() - start) * 1000) / count;
    rows.push({
      durability,
      synchronous: durability === 'full' ? 'FULL' : 'NORMAL',
      appends: count,
      stepBytes: bytes,
      usPerAppend: us,
    });
    store.close();
  }
  return rows;
}

async function benchResume(repeats: number, dir: string) {
  const path = join(dir, 'resume.db');
  const ids = Array.from({ length: 50 }, (_, i) => `p${i}`);
  const graph: TaskGraph = {
    goal: 'resume: 50 finished tasks + a join',
    tasks: [...ids.map((id) => task(id)), task('join', ids)],
  };
  const rows = [];
  for (let r = 0; r < repeats + 1; r++) {
    // The join blocks until the run is cancelled; the 50 others finish at once.
    const agent = new SleepAgent((id) => (id === 'join' ? Infinity : 0));
    const options = { roles: roleOf(agent), planner: new GraphPlanner(graph), model, config: configFor(path) };
    const first = run({ goal: graph.goal, ...options });
    let completed = 0;
    first.on('task.completed', () => {
      if (++completed === 50) first.cancel('bench: 50 tasks done');
    });
    const stopped = await first.result;
    if (stopped.status !== 'cancelled') throw new Error(`first leg ended ${stopped.status}`);
    const lastSeq = openCadreStore({ path }).events.lastSeq(stopped.runId);

    const start = performance.now();
    const handle = resume(stopped.runId, options);
    const returnedMs = performance.now() - start; // run.resumed is emitted synchronously inside resume()
    const seen: CadreEvent[] = [];
    const firstNew = (async () => {
      for await (const event of handle.events(lastSeq + 1)) {
        seen.push(event);
        if (event.type !== 'run.resumed') return { ms: performance.now() - start, event };
      }
      throw new Error('resumed run ended without a new event');
    })();
    const next = await firstNew;
    handle.cancel('bench: measured');
    const again = await handle.result;
    const restarted = [...seen, ...openCadreStore({ path }).events.read(stopped.runId, lastSeq + 1)].filter(
      (e) => e.type === 'task.started',
    );
    const rerun = new Set(restarted.map((e) => (e as Extract<CadreEvent, { type: 'task.started' }>).taskId));
    if (seen[0]?.type !== 'run.resumed') throw new Error(`first event after resume was ${seen[0]?.type}`);
    if (r > 0) {
      rows.push({
        finishedTasks: completed,
        toRunResumedMs: returnedMs,
        toFirstNewEventMs: next.ms,
        firstNewEvent: `${next.event.type}${'taskId' in next.event ? ` ${String(next.event.taskId)}` : ''}`,
        tasksRerun: [...rerun],
        statusAfterSecondCancel: again.status,
      });
    }
  }
  closeStore(path);
  return rows;
}

// ---------------------------------------------------------------- 4 1,000 concurrent runs (child)

interface ScaleSample {
  runs: number;
  completed: number;
  wallMs: number;
  startAllMs: number;
  baselineRssMb: number;
  peakRssMb: number;
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  lagSamples: number;
  gapSamples: number;
  gapP50Ms: number;
  gapP99Ms: number;
  gapMaxMs: number;
}

async function scaleChild(runs: number, dir: string): Promise<void> {
  const path = join(dir, 'scale.db');
  const agent = new SleepAgent(() => 50);
  const graph: TaskGraphInput = { goal: 'one task', tasks: [task('only')] };
  const start1 = () =>
    run({ goal: graph.goal, roles: roleOf(agent), planner: new GraphPlanner(graph), model, config: configFor(path) })
      .result;
  await start1(); // warm-up: imports, JIT, opening the database
  const baselineRssMb = process.memoryUsage().rss / 1024 / 1024;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  // The histogram records nothing while the loop is blocked (a timer that never fires adds no sample),
  // so a 10 ms interval also records each gap itself, the last one up to the end included.
  const gaps: number[] = [];
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last - 10);
    last = now;
  }, 10);
  lag.enable();
  const start = performance.now();
  const pending = Array.from({ length: runs }, start1);
  const startAllMs = performance.now() - start; // the run() calls themselves, synchronous
  const results = await Promise.all(pending);
  const wallMs = performance.now() - start;
  lag.disable();
  clearInterval(ticker);
  gaps.push(performance.now() - last - 10);
  gaps.sort((a, b) => a - b);
  const sample: ScaleSample = {
    runs,
    completed: results.filter((r) => r.status === 'completed').length,
    wallMs,
    startAllMs,
    baselineRssMb,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    lagP50Ms: lag.percentile(50) / 1e6,
    lagP99Ms: lag.percentile(99) / 1e6,
    lagMaxMs: lag.max / 1e6,
    lagSamples: lag.count,
    gapSamples: gaps.length,
    gapP50Ms: gaps[Math.floor(gaps.length * 0.5)]!,
    gapP99Ms: gaps[Math.min(gaps.length - 1, Math.floor(gaps.length * 0.99))]!,
    gapMaxMs: gaps.at(-1)!,
  };
  closeStore(path);
  process.stdout.write(JSON.stringify(sample));
}

/** One child process per cap on active runs (`maxActiveRuns`, through CADRE_MAX_ACTIVE_RUNS). */
function benchScale(runs: number, dir: string, maxActiveRuns: number): ScaleSample & { maxActiveRuns: number } {
  const script = fileURLToPath(import.meta.url);
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, script, '--child-scale', String(runs), '--dir', dir],
    {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, CADRE_MAX_ACTIVE_RUNS: String(maxActiveRuns) },
    },
  );
  return { ...(JSON.parse(out) as ScaleSample), maxActiveRuns };
}

// ---------------------------------------------------------------- main

async function main(o: {
  seeds: number;
  makespanRepeats: number;
  repeats: number;
  resumeRepeats: number;
  runs: number;
}) {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-bench-'));
  const began = performance.now();
  try {
    console.log(
      `orchestration bench, Node ${process.version}, ${cpus().length} cores, load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}, ${o.repeats} repeats (median)\n`,
    );

    const makespan = await benchMakespan(o.seeds, o.makespanRepeats, dir);
    console.log(
      `1. makespan: random 50-task DAGs (layers of width 1-8, 1-3 deps), tasks 20-200 ms, concurrency 8, file db, median of ${o.makespanRepeats}`,
    );
    printTable(
      [
        'seed',
        'layers',
        'sum ms',
        'crit path',
        'lower bd',
        'list sched',
        'fifo sched',
        'cadre ms',
        'vs list',
        'vs crit',
        'vs lower',
        'vs fifo',
        'startup',
        'tail',
        'task +ms',
        'timer +ms',
      ],
      makespan.map((r) => [
        r.seed,
        r.layers,
        r.sumMs,
        r.criticalPathMs,
        fmt(r.lowerBoundMs, 0),
        r.listScheduleMs,
        r.fifoScheduleMs,
        fmt(r.cadreMs, 0),
        fmt(r.vsListSchedule, 3),
        fmt(r.vsCriticalPath, 3),
        fmt(r.vsLowerBound, 3),
        fmt(r.vsFifoSchedule, 3),
        fmt(r.startupMs, 1),
        fmt(r.tailMs, 1),
        fmt(r.meanTaskSpanOverLatencyMs, 2),
        fmt(r.meanSleepOvershootMs, 2),
      ]),
    );
    const worstList = Math.max(...makespan.map((r) => r.vsListSchedule));
    console.log(
      `makespan / list schedule: median ${fmt(median(makespan.map((r) => r.vsListSchedule)), 3)}, worst ${fmt(worstList, 3)} (target <= 1.05)\n`,
    );

    const overhead = await benchOverhead(o.repeats, dir);
    const per = (shape: Shape, v: Variant) => overhead.find((x) => x.shape === shape && x.variant === v)!.msPerTask;
    console.log('2. overhead per task at zero task latency (ms/task, median)');
    const overheadRows = (Object.keys(shapes) as Shape[]).map((shape) => ({
      shape,
      tasks: shapes[shape].tasks,
      cadreMemory: per(shape, 'cadre-memory'),
      rawMemory: per(shape, 'raw-memory'),
      ratioMemory: per(shape, 'cadre-memory') / per(shape, 'raw-memory'),
      functionalMemory: per(shape, 'functional-memory'),
      cadreFile: per(shape, 'cadre-file'),
      rawFile: per(shape, 'raw-file'),
      ratioFile: per(shape, 'cadre-file') / per(shape, 'raw-file'),
      functionalFile: per(shape, 'functional-file'),
      ratioFunctionalFile: per(shape, 'cadre-file') / per(shape, 'functional-file'),
    }));
    printTable(
      [
        'shape',
        'tasks',
        'cadre :memory:',
        'StateGraph Mem',
        'functional Mem',
        'cadre file',
        'StateGraph Sqlite',
        'functional Sqlite',
        'x StateGraph',
        'x functional',
      ],
      overheadRows.map((r) => [
        r.shape,
        r.tasks,
        fmt(r.cadreMemory, 3),
        fmt(r.rawMemory, 3),
        fmt(r.functionalMemory, 3),
        fmt(r.cadreFile, 3),
        fmt(r.rawFile, 3),
        fmt(r.functionalFile, 3),
        fmt(r.ratioFile, 2),
        fmt(r.ratioFunctionalFile, 2),
      ]),
    );
    const diamond = overheadRows.find((r) => r.shape === 'diamond')!;
    console.log(
      `1 -> 8 -> 1, file database: cadre ${fmt(diamond.cadreFile, 3)} ms per task (target <= 0.3), ${fmt(diamond.ratioFunctionalFile, 2)}x the functional API with the same SqliteSaver (target <= 1)`,
    );
    console.log(
      `cadre / raw LangGraph per task: worst ${fmt(Math.max(...overheadRows.flatMap((r) => [r.ratioMemory, r.ratioFile])), 2)} (target <= 1.3)\n`,
    );

    const journal = benchJournal(dir);
    console.log('3a. SqliteStepJournal.append, WAL');
    printTable(
      ['synchronous', 'appends', 'step bytes', 'us/append'],
      journal.map((r) => [r.synchronous, r.appends, r.stepBytes, fmt(r.usPerAppend, 1)]),
    );
    const checkpoint = overheadRows.map((r) => ({ shape: r.shape, msPerTask: r.cadreFile - r.cadreMemory }));
    console.log('\n3b. checkpoint cost per task = cadre file-db minus cadre :memory: (from 2)');
    printTable(
      ['shape', 'ms/task'],
      checkpoint.map((r) => [r.shape, fmt(r.msPerTask, 3)]),
    );
    const resumeRows = await benchResume(o.resumeRepeats, dir);
    console.log(
      `\n3c. resume() of a cancelled run with 50 finished tasks + a blocked join (file db, median of ${resumeRows.length})`,
    );
    printTable(
      ['to run.resumed ms', 'to first new event ms', 'first new event', 'tasks re-run'],
      [
        [
          fmt(median(resumeRows.map((r) => r.toRunResumedMs)), 2),
          fmt(median(resumeRows.map((r) => r.toFirstNewEventMs)), 2),
          resumeRows[0]!.firstNewEvent,
          resumeRows[0]!.tasksRerun.join(','),
        ],
      ],
    );

    const scale = [8, 16, 64, 256, o.runs].map((cap) => benchScale(o.runs, dir, cap));
    console.log(
      `\n4. ${o.runs} concurrent single-task runs (50 ms task), one process, one shared file db, by maxActiveRuns (default 256)`,
    );
    printTable(
      [
        'maxActiveRuns',
        'completed',
        'wall ms',
        'run() calls ms',
        'baseline RSS MB',
        'peak RSS MB',
        'ELD samples',
        'ELD p99 ms',
        '10ms-tick gaps',
        'gap p50 ms',
        'gap p99 ms',
        'gap max ms',
      ],
      scale.map((s) => [
        s.maxActiveRuns,
        s.completed,
        fmt(s.wallMs, 0),
        fmt(s.startAllMs, 0),
        fmt(s.baselineRssMb, 0),
        fmt(s.peakRssMb, 0),
        s.lagSamples,
        fmt(s.lagP99Ms, 1),
        s.gapSamples,
        fmt(s.gapP50Ms, 1),
        fmt(s.gapP99Ms, 1),
        fmt(s.gapMaxMs, 1),
      ]),
    );
    console.log(
      '(ELD = monitorEventLoopDelay, resolution 10 ms; it adds a sample only when its timer fires, so a loop blocked for',
    );
    console.log(
      ' most of the run leaves it nearly empty; the tick gaps are the lag seen by a 10 ms setInterval, in ms past 10)',
    );
    console.log(
      `\ntotal bench time ${fmt((performance.now() - began) / 1000, 1)} s, load average at the end ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );

    const out = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(out, { recursive: true });
    const report = {
      bench: 'orchestration',
      node: process.version,
      cores: cpus().length,
      loadAverageAtEnd: loadavg(),
      options: o,
      makespan,
      overhead: { rows: overheadRows, samples: overhead },
      journal,
      checkpointPerTask: checkpoint,
      resume: resumeRows,
      scale,
      at: new Date().toISOString(),
    };
    writeFileSync(`${out}orchestration.json`, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const childRuns = flag('--child-scale');
if (childRuns) {
  await scaleChild(Number(childRuns), flag('--dir')!);
} else {
  await main({
    seeds: Number(flag('--seeds') ?? (quick ? 2 : 5)),
    makespanRepeats: Number(flag('--makespan-repeats') ?? (quick ? 1 : 3)),
    repeats: Number(flag('--repeats') ?? (quick ? 3 : 15)),
    resumeRepeats: Number(flag('--resume-repeats') ?? (quick ? 2 : 5)),
    runs: Number(flag('--runs') ?? (quick ? 100 : 1000)),
  });
}
