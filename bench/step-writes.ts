/**
 * step-writes: what one step of `run()` costs the embedded store, measured at the store's own API
 * with the rows a real step writes — the part of a run's time that no fake model changes. A step is
 * a model reply journaled, its `model.response` event (the durability point: one redo-log append),
 * then the tool call's `tool.called` event, its audit row, its `tool.result` event and the tool step
 * journaled; ten steps a run, as in agent-overhead. Each row leaves out one kind of write, so the
 * cost of each shows as the difference:
 *   all            everything a step writes (the file database's default durability)
 *   no events      without the three events (the durability point is still made)
 *   no journal     without the two journal steps
 *   no audit       without the audit row
 * µs per step over `--runs` runs after a 500-run warm-up, mean (SQLite's commits every 100
 * durability points and its WAL checkpoints included), three repeats (min / median / max).
 * Prints a table and writes bench/results/step-writes.json.
 *
 *   npm run bench:steps [-- --runs 1000 --repeats 3]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunEventStream, createId, openCadreStore, type CadreStore } from 'cadre';
import { AuditLog } from 'cadre/tools';
import { WriteBatch } from '../src/runtime/store/write-batch.js';
import { fmt, numberFlag, printTable, showSpread, spread } from './bench-kit.js';

const runs = numberFlag('--runs', 1000);
const repeats = numberFlag('--repeats', 3);
const stepsPerRun = 10;
const warmUp = 500;

type Part = 'events' | 'journal' | 'audit';
const variants: Array<{ name: string; without?: Part }> = [
  { name: 'all' },
  { name: 'no events', without: 'events' },
  { name: 'no journal', without: 'journal' },
  { name: 'no audit', without: 'audit' },
];

/** One run's steps as `run()` writes them, leaving out `without`. */
function stepWriter(store: CadreStore, without: Part | undefined): () => void {
  const batch = WriteBatch.of(store.db);
  // As run() keeps it: the audit row joins the step's batch.
  const audit = new AuditLog(store.db, Date.now, (statement, params) => batch.run(statement, params));
  return () => {
    const runId = createId('run');
    store.runs.create({ id: runId, goal: 'go' });
    store.steps.keep(runId);
    const events = new RunEventStream(runId, { log: store.events });
    events.on('*', () => undefined);
    events.reserveSeqs();
    for (let s = 1; s <= stepsPerRun; s++) {
      const call = { name: 'add', args: { a: s, b: 1 }, id: `c${s}` };
      const usage = { inputTokens: 10 * s, outputTokens: 5, totalTokens: 10 * s + 5 };
      const model = { model: 'scripted', content: '', toolCalls: [call], usage, costUsd: 0 };
      if (without !== 'journal')
        store.steps.append({ kind: 'model', runId, taskId: 'main', index: 2 * s - 2, ...model });
      if (without === 'events') batch.durable();
      else events.emit({ type: 'model.response', taskId: 'main', step: s, ...model, latencyMs: 0.01, replayed: false });
      if (without !== 'events')
        events.emit({
          type: 'tool.called',
          taskId: 'main',
          step: s,
          callId: call.id,
          tool: 'add',
          args: call.args,
          effects: 'read',
          replayed: false,
        });
      if (without !== 'audit')
        audit.record({ runId, taskId: 'main', agent: 'bench', tool: 'add', args: call.args, decision: 'allowed' });
      const output = String(s + 1);
      if (without !== 'events')
        events.emit({
          type: 'tool.result',
          taskId: 'main',
          step: s,
          callId: call.id,
          tool: 'add',
          ok: true,
          output,
          truncated: false,
          attempts: 1,
          durationMs: 0.02,
          replayed: false,
        });
      if (without !== 'journal')
        store.steps.append({
          kind: 'tool',
          runId,
          taskId: 'main',
          index: 2 * s - 1,
          call: `${s}.0`,
          callId: call.id,
          tool: 'add',
          args: call.args,
          ok: true,
          output,
        });
    }
    events.close();
    store.steps.takeKept(runId);
  };
}

/** µs per step of one variant on a fresh database file. */
function measure(without: Part | undefined): number {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-steps-'));
  const store = openCadreStore({ path: join(dir, 'cadre.db') });
  try {
    const oneRun = stepWriter(store, without);
    for (let i = 0; i < warmUp; i++) oneRun();
    const started = performance.now();
    for (let i = 0; i < runs; i++) oneRun();
    return ((performance.now() - started) * 1000) / (runs * stepsPerRun);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rounds = Array.from({ length: repeats }, () => variants.map((v) => measure(v.without)));
const rows = variants.map((v, i) => ({ variant: v.name, usPerStep: spread(rounds.map((r) => r[i]!)) }));
const all = rows[0]!.usPerStep.median;
console.log(
  `step-writes: ${runs} runs x ${stepsPerRun} steps after ${warmUp} warm-up runs, ${repeats} repeats, file database, Node ${process.version}`,
);
console.log('µs per step, mean over the runs; min / median / max over the repeats\n');
printTable(
  ['variant', 'µs per step', 'the part left out (median)'],
  rows.map((r) => [r.variant, showSpread(r.usPerStep, 1), r.variant === 'all' ? '' : fmt(all - r.usPerStep.median, 1)]),
);
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(
  `${dir}step-writes.json`,
  `${JSON.stringify({ bench: 'step-writes', node: process.version, runs, stepsPerRun, warmUp, repeats, rows, at: new Date().toISOString() }, null, 2)}\n`,
);
