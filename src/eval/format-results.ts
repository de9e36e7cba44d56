import pc from 'picocolors';
import type { EvalComparison } from './compare-results.js';
import type { CaseStatus, EvalResults } from './eval-results.js';

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
const dollars = (usd: number) => `$${usd.toFixed(4)}`;
const colourOf: Record<CaseStatus, (text: string) => string> = {
  passed: pc.green,
  failed: pc.red,
  error: pc.red,
  skipped: pc.yellow,
};
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * The results as a table: one row per case (result, tokens, cost, latency, model calls, cache hits,
 * and why it failed), then the pass rate with its Wilson 95% interval and the totals.
 */
export function formatEvalTable(results: EvalResults): string {
  const width = Math.min(24, Math.max(4, ...results.cases.map((c) => c.id.length)));
  const row = (cells: string[]) => cells.join(' ');
  const lines = [
    `${pc.bold(`suite ${results.suite.name}`)} · ${results.summary.cases} cases · ${results.subject} · models: ${results.models.description}`,
    pc.dim(
      row([
        'case'.padEnd(width),
        'result'.padEnd(7),
        'tokens'.padStart(8),
        'cost'.padStart(9),
        'latency'.padStart(8),
        'calls'.padStart(5),
        'cached'.padStart(6),
        ' why',
      ]),
    ),
  ];
  for (const c of results.cases) {
    lines.push(
      row([
        clip(c.id, width).padEnd(width),
        colourOf[c.status](c.status.padEnd(7)),
        String(c.usage.totalTokens).padStart(8),
        dollars(c.costUsd).padStart(9),
        seconds(c.latencyMs).padStart(8),
        String(c.modelCalls).padStart(5),
        String(c.cacheHits).padStart(6),
        c.status === 'passed' || !c.reason ? '' : ` ${pc.dim(clip(c.reason.replace(/\s+/g, ' '), 80))}`,
      ]).trimEnd(),
    );
  }
  const s = results.summary;
  const perCase = s.ran ? s.latencyMs / s.ran : 0;
  const counts = [
    `${s.passed}/${s.ran} passed`,
    ...(s.failed ? [`${s.failed} failed`] : []),
    ...(s.errors ? [`${s.errors} errors`] : []),
    ...(s.skipped ? [`${s.skipped} skipped`] : []),
  ].join(', ');
  lines.push(
    '',
    `${pc.bold('pass rate')} ${percent(s.passRate)} (${counts}) · 95% CI ${percent(s.interval.low)}–${percent(s.interval.high)} (Wilson)`,
    `${pc.bold('total')} tokens ${s.usage.totalTokens} (in ${s.usage.inputTokens} / out ${s.usage.outputTokens}) · cost ${dollars(s.costUsd)} · latency ${seconds(s.latencyMs)} (${seconds(perCase)} per case) · model calls ${s.modelCalls} · cache hits ${s.cacheHits} · wall ${seconds(results.durationMs)}`,
  );
  return `${lines.join('\n')}\n`;
}

/** A comparison as lines: the pass rates, each regression and fix, and whether the gate failed. */
export function formatComparison(comparison: EvalComparison, previous: string): string {
  const c = comparison;
  const points = (x: number) => (x * 100).toFixed(1);
  const lines = [
    `${pc.bold('compared with')} ${previous} (${c.shared} cases ran in both)`,
    `pass rate ${percent(c.passRateBefore)} → ${percent(c.passRateNow)} (${c.drop > 0 ? `down ${points(c.drop)}` : `up ${points(-c.drop)}`} points; allowed drop ${points(c.maxDrop)})`,
    ...c.regressions.map(
      (r) =>
        `${pc.red('regression')} ${r.id}: ${r.before} before, ${r.now} now${r.reason ? ` (${clip(r.reason, 80)})` : ''}`,
    ),
    ...c.fixed.map((f) => `${pc.green('fixed')} ${f.id}: ${f.before} before, ${f.now} now`),
    ...c.missing.map((id) => `${pc.yellow('not run now')} ${id}`),
    c.failed
      ? pc.red(`FAIL: the pass rate fell by ${points(c.drop)} points, more than the allowed ${points(c.maxDrop)}`)
      : pc.green('OK: the pass rate held'),
  ];
  return `${lines.join('\n')}\n`;
}
