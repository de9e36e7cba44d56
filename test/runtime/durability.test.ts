import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import PQueue from 'p-queue';
import { describe, expect, it } from 'vitest';
import { CadreError, openCadreStore, resume, type CadreEvent } from 'cadre';
import {
  agentLines,
  durabilityOptions,
  expectedLines,
  type EffectKind,
  type IdScheme,
  type RunShape,
} from '../fixtures/durability-run.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
type Line = {
  type: string;
  seq?: number;
  output?: string;
  step?: number;
  replayed?: boolean;
  taskId?: string;
  tool?: string;
  args?: { task?: string; n?: number };
  callId?: string;
  error?: { code: string };
  status?: string;
};

/** Runs the fixture in its own process, which SIGKILLs itself at the instant `kill` names. */
function child(
  mode: 'run' | 'resume',
  dir: string,
  kind: EffectKind,
  ids: IdScheme,
  kill = '',
  shape: RunShape = 'team',
): Promise<{ lines: Line[]; signal: NodeJS.Signals | null }> {
  return new Promise((done) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/durability-run.ts', mode, dir, 'run_d', kind, ids, shape, kill],
      { cwd: root },
    );
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.on('close', (_code, signal) =>
      done({
        lines: out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Line),
        signal,
      }),
    );
  });
}

const effectLines = (dir: string) =>
  existsSync(join(dir, 'effects.log'))
    ? readFileSync(join(dir, 'effects.log'), 'utf8').trim().split('\n').filter(Boolean)
    : [];
const lineOf = (entry: string) => entry.split(' ').at(-1)!;

interface Trial {
  kind: EffectKind;
  ids: IdScheme;
  shape?: RunShape;
  kill: string;
  /** Kill the first resume too, at this instant, before the resume that finishes. */
  killResume?: string;
}

interface TrialResult {
  status: string;
  counts: Map<string, number>;
  unknown: string[];
  rerunAfterCompletion: string[];
  killed: boolean;
  /** Calls a keyed tool found already done by its key (re-run after a kill mid-call). */
  deduplicated: number;
  /** Task steps whose model reply, once journaled, was asked for again instead of replayed. */
  repaid: string[];
  /** Whether every process's events came after every seq an earlier process had shown its listeners. */
  seqsIncrease: boolean;
}

/** One trial: run killed at an instant, resumed (maybe killed again), resumed in this process to the end. */
async function trial({ kind, ids, kill, killResume, shape = 'team' }: Trial): Promise<TrialResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-durable-'));
  const first = await child('run', dir, kind, ids, kill, shape);
  const lines = [...first.lines];
  const processes = [first.lines];
  let last = first;
  if (killResume && first.signal === 'SIGKILL') {
    last = await child('resume', dir, kind, ids, killResume, shape);
    lines.push(...last.lines);
    processes.push(last.lines);
  }
  let status = last.lines.find((l) => l.type === 'result')?.status ?? 'killed';
  if (status === 'killed') {
    try {
      const handle = resume('run_d', durabilityOptions(dir, kind, ids, shape));
      const own: Line[] = [];
      handle.on('*', (event: CadreEvent) => own.push(event as unknown as Line));
      status = (await handle.result).status;
      lines.push(...own);
      processes.push(own);
    } catch (error) {
      // Killed after its end was durable (in the redo log, applied by resume) but before it printed
      // its result: the run had ended, and there is nothing to resume. Its stored status is the result.
      if (!CadreError.isInstance(error) || error.code !== 'input_invalid') throw error;
      status = openCadreStore({ path: join(dir, 'cadre.db') }).runs.get('run_d')!.status;
    }
  }
  const seqs = processes.map((p) => p.filter((l) => l.seq !== undefined).map((l) => l.seq!));
  const seqsIncrease = seqs.every(
    (s, i) => i === 0 || s.length === 0 || Math.min(...s) > Math.max(0, ...seqs.slice(0, i).flat()),
  );
  const counts = new Map<string, number>();
  for (const entry of effectLines(dir)) counts.set(lineOf(entry), (counts.get(lineOf(entry)) ?? 0) + 1);
  // The line a call reported as unknown would have written (the arguments come from its tool.called event).
  const argsOf = new Map(
    lines
      .filter((l) => l.type === 'tool.called')
      .map((l) => [`${l.taskId}/${l.callId}`, `${l.args?.task}:${l.args?.n}`]),
  );
  const unknown = lines
    .filter((l) => l.type === 'tool.result' && l.error?.code === 'tool_outcome_unknown')
    .map((l) => argsOf.get(`${l.taskId}/${l.callId}`)!);
  const completed = new Set<string>();
  const rerunAfterCompletion: string[] = [];
  for (const line of lines) {
    if (line.type === 'task.completed') completed.add(line.taskId!);
    if (line.type === 'task.started' && completed.has(line.taskId!)) rerunAfterCompletion.push(line.taskId!);
  }
  const deduplicated = lines.filter((l) => l.type === 'tool.result' && l.output?.startsWith('already appended')).length;
  // A reply's event follows its journal entry, so a step with two live replies was paid for twice.
  const live = lines.filter((l) => l.type === 'model.response' && !l.replayed).map((l) => `${l.taskId}/${l.step}`);
  const repaid = live.filter((key, i) => live.indexOf(key) !== i);
  return {
    status,
    counts,
    unknown,
    rerunAfterCompletion,
    killed: first.signal === 'SIGKILL',
    deduplicated,
    repaid,
    seqsIncrease,
  };
}

/** Kill instants spread over a whole run's life: its events, its effects, a timer, right after run(). */
function instants(events: number, effects: number, count: number, seed: number): string[] {
  const picks = ['start', `event:${events - 1}`, 'before:1', `after:${effects}`];
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  while (picks.length < count) {
    const roll = next();
    picks.push(
      roll < 0.6
        ? `event:${1 + Math.floor(next() * (events - 1))}`
        : roll < 0.85
          ? `${next() < 0.5 ? 'before' : 'after'}:${1 + Math.floor(next() * effects)}`
          : `ms:${Math.floor(300 + next() * 600)}`,
    );
  }
  return picks;
}

async function trials(list: Trial[]): Promise<TrialResult[]> {
  const queue = new PQueue({ concurrency: 2 });
  return Promise.all(list.map((t) => queue.add(() => trial(t)))) as Promise<TrialResult[]>;
}

describe('durability: tool-call identity and kill -9 at any instant', () => {
  it('a model that reuses one id across turns and within a message, or sends none: every distinct write runs exactly once, in order', async () => {
    for (const ids of ['reuse', 'none'] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'cadre-ids-'));
      const { lines } = await child('run', dir, 'plain', ids);
      expect(lines.at(-1)).toMatchObject({ type: 'result', status: 'completed' });
      const written = effectLines(dir);
      expect(written.sort()).toEqual([...expectedLines].sort());
      expect(lines.some((l) => l.type === 'tool.result' && (l as { replayed?: boolean }).replayed)).toBe(false);
      // Within a task the third line comes after the two parallel ones.
      const order = readFileSync(join(dir, 'effects.log'), 'utf8').trim().split('\n');
      for (const task of ['a', 'b', 'c', 'd', 'e', 'f'])
        expect(order.indexOf(`${task}:3`)).toBeGreaterThan(
          Math.max(order.indexOf(`${task}:1`), order.indexOf(`${task}:2`)),
        );
    }
  }, 60_000);

  it('a run killed right after run() returns, before its first checkpoint, resumes from the beginning to completed', async () => {
    const result = await trial({ kind: 'plain', ids: 'reuse', kill: 'start' });
    expect(result.killed).toBe(true);
    expect(result.status).toBe('completed');
    expect([...result.counts.entries()].sort()).toEqual(expectedLines.map((line) => [line, 1]).sort());
  }, 60_000);

  it('killed at random instants and resumed: every run completes, no task re-runs, no write is doubled or lost unless reported unknown', async () => {
    const reference = await child('run', mkdtempSync(join(tmpdir(), 'cadre-ref-')), 'plain', 'reuse');
    const events = reference.lines.filter((l) => l.type !== 'result').length;
    const list: Trial[] = [
      ...instants(events, expectedLines.length, 14, 7).map((kill, i) => ({
        kind: 'plain' as const,
        ids: 'reuse' as const,
        kill,
        ...(i % 4 === 3 ? { killResume: `event:${5 + i}` } : {}),
      })),
      ...instants(events, expectedLines.length, 4, 11).map((kill) => ({
        kind: 'plain' as const,
        ids: 'none' as const,
        kill,
      })),
    ];
    const results = await trials(list);
    const label = (i: number) =>
      `trial ${i} (${list[i]!.kill}${list[i]!.killResume ? `, resume ${list[i]!.killResume}` : ''})`;
    const lost = results.flatMap((r, i) =>
      expectedLines
        .filter((line) => !r.counts.get(line) && !r.unknown.includes(line))
        .map((line) => `${line} in ${label(i)}`),
    );
    const doubled = results.flatMap((r, i) =>
      expectedLines.filter((line) => (r.counts.get(line) ?? 0) > 1).map((line) => `${line} in ${label(i)}`),
    );
    const unknown = results.reduce((n, r) => n + r.unknown.length, 0);
    const unknownWithoutEffect = results.reduce(
      (n, r) => n + r.unknown.filter((line) => !r.counts.get(line)).length,
      0,
    );
    // eslint-disable-next-line no-console -- the trial counts are this test's report
    console.info(
      'durability, plain write tool:',
      JSON.stringify({
        trials: results.length,
        killed: results.filter((r) => r.killed).length,
        unknown,
        unknownWithoutEffect,
        doubled: doubled.length,
        lost: lost.length,
      }),
    );
    expect(results.map((r, i) => `${label(i)}: ${r.status}`)).toEqual(results.map((_, i) => `${label(i)}: completed`));
    expect(results.flatMap((r, i) => r.rerunAfterCompletion.map((task) => `${task} in ${label(i)}`))).toEqual([]);
    expect(results.flatMap((r, i) => r.repaid.map((step) => `${step} in ${label(i)}`))).toEqual([]);
    expect(results.filter((r) => !r.seqsIncrease).map((_, i) => label(i))).toEqual([]);
    expect(doubled).toEqual([]);
    expect(lost).toEqual([]);
    // A timer or a late event may find the run already finished; most trials must really be killed.
    expect(results.filter((r) => r.killed).length).toBeGreaterThanOrEqual(Math.ceil(results.length * 0.8));
  }, 240_000);

  it('one agent, run without a workflow, killed between each model reply and its tool calls and elsewhere: nothing paid twice, no effect repeated or lost', async () => {
    const reference = await child('run', mkdtempSync(join(tmpdir(), 'cadre-ref-')), 'plain', 'reuse', '', 'agent');
    expect(reference.lines.at(-1)).toMatchObject({ type: 'result', status: 'completed' });
    const events = reference.lines.filter((l) => l.type !== 'result');
    // Right after each model reply is journaled (its event), before the calls it asks for run.
    const afterReplies = events.flatMap((l, i) => (l.type === 'model.response' ? [`event:${i + 1}`] : []));
    expect(afterReplies.length).toBe(3);
    const list: Trial[] = [
      ...afterReplies,
      'start',
      'before:1',
      'after:2',
      'after:3',
      `event:${events.length - 1}`,
    ].map((kill, i) => ({
      kind: 'plain',
      ids: 'reuse',
      shape: 'agent',
      kill,
      ...(i === 1 ? { killResume: 'event:3' } : {}),
    }));
    const results = await trials(list);
    for (const [i, r] of results.entries()) {
      const label = `${list[i]!.kill}${list[i]!.killResume ? `, resume ${list[i]!.killResume}` : ''}`;
      expect(r.status, label).toBe('completed');
      expect(r.repaid, label).toEqual([]);
      expect(r.rerunAfterCompletion, label).toEqual([]);
      expect(r.seqsIncrease, label).toBe(true);
      for (const line of agentLines) {
        expect(r.counts.get(line) ?? 0, `${line} (${label})`).toBeLessThanOrEqual(1);
        if (!r.counts.get(line)) expect(r.unknown, `${line} lost (${label})`).toContain(line);
      }
    }
    expect(results.filter((r) => r.killed).length).toBeGreaterThanOrEqual(list.length - 1);
  }, 240_000);

  it('a model reply kept only in the redo log when the process is killed is applied on resume: not paid twice, no effect repeated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadre-redo-'));
    const reference = await child('run', mkdtempSync(join(tmpdir(), 'cadre-ref-')), 'plain', 'reuse', '', 'agent');
    const events = reference.lines.filter((l) => l.type !== 'result');
    // Killed right after the second reply was made durable, before the write it asks for runs.
    const second = events.map((l, i) => (l.type === 'model.response' ? i + 1 : 0)).filter(Boolean)[1]!;
    const first = await child('run', dir, 'plain', 'reuse', `event:${second}`, 'agent');
    expect(first.signal).toBe('SIGKILL');
    const paid = first.lines.filter((l) => l.type === 'model.response').length;
    expect(paid).toBe(2);
    // SQLite itself does not hold that reply: the process died before its transaction committed.
    const raw = new Database(join(dir, 'cadre.db'), { readonly: true });
    const committed = raw.prepare("SELECT count(*) AS n FROM events WHERE type = 'model.response'").get() as {
      n: number;
    };
    raw.close();
    expect(committed.n).toBeLessThan(paid);
    const logs = () => readdirSync(join(dir, 'cadre.db-redo')).filter((f) => f.endsWith('.log'));
    const dead = logs();
    expect(dead).toHaveLength(1);

    const handle = resume('run_d', durabilityOptions(dir, 'plain', 'reuse', 'agent'));
    const own: Line[] = [];
    handle.on('*', (event: CadreEvent) => own.push(event as unknown as Line));
    expect((await handle.result).status).toBe('completed');
    const replies = [...first.lines, ...own].filter((l) => l.type === 'model.response');
    const live = replies.filter((l) => !l.replayed).map((l) => `${l.taskId}/${l.step}`);
    expect(live.filter((key, i) => live.indexOf(key) !== i)).toEqual([]);
    expect(own.some((l) => l.type === 'model.response' && l.replayed)).toBe(true);
    expect(effectLines(dir).map(lineOf).sort()).toEqual([...agentLines].sort());
    // Applied once, then removed (this process's own log may be there now).
    expect(logs()).not.toContain(dead[0]);
  }, 60_000);

  it('a keyed write tool under kill -9 at random instants: no unknown outcome, no duplicate, nothing lost', async () => {
    const reference = await child('run', mkdtempSync(join(tmpdir(), 'cadre-ref-')), 'keyed', 'reuse');
    const events = reference.lines.filter((l) => l.type !== 'result').length;
    const list = instants(events, expectedLines.length, 10, 5).map((kill, i) => ({
      kind: 'keyed' as const,
      ids: 'reuse' as const,
      kill,
      ...(i % 5 === 4 ? { killResume: `event:${8 + i}` } : {}),
    }));
    const results = await trials(list);
    for (const [i, r] of results.entries()) {
      expect(r.status, `trial ${i} (${list[i]!.kill})`).toBe('completed');
      expect(r.unknown, `trial ${i} (${list[i]!.kill})`).toEqual([]);
      expect(r.rerunAfterCompletion).toEqual([]);
      expect(r.repaid).toEqual([]);
      for (const line of expectedLines)
        expect(r.counts.get(line) ?? 0, `${line} in trial ${i} (${list[i]!.kill})`).toBe(1);
    }
    const deduplicated = results.reduce((n, r) => n + r.deduplicated, 0);
    // eslint-disable-next-line no-console -- the trial counts are this test's report
    console.info(
      'durability, keyed write tool:',
      JSON.stringify({ trials: results.length, killed: results.filter((r) => r.killed).length, deduplicated }),
    );
    // Kills between a keyed call's effect and its journal entry happened, and the key caught them.
    expect(deduplicated).toBeGreaterThanOrEqual(1);
  }, 240_000);
});
