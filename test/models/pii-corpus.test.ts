import { describe, expect, it } from 'vitest';
import { detectPii, type PiiKind } from 'cadre/models';
import { isValidIBAN } from 'ibantools';
import { exampleIbans, negativeLines, positiveSamples, type Sample } from '../fixtures/sensitive/index.js';

const KINDS: PiiKind[] = ['email', 'phone', 'card', 'iban', 'api_key', 'private_key'];

/** Whether the detector found the sample's value, as its kind, at its place in the text. */
function found({ kind, text, value }: Sample): boolean {
  const start = text.indexOf(value);
  const end = start + value.length;
  return detectPii(text).some((f) => f.kind === kind && f.start < end && start < f.end);
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

describe('detectPii on the generated corpus', () => {
  const positives = positiveSamples();
  const negatives = negativeLines();

  it('has several hundred positives across every kind, and several hundred negative lines', () => {
    expect(positives.length).toBeGreaterThanOrEqual(500);
    for (const kind of KINDS) expect(positives.filter((s) => s.kind === kind).length, kind).toBeGreaterThanOrEqual(30);
    expect(negatives.length).toBeGreaterThanOrEqual(400);
    for (const sample of positives) expect(sample.text, sample.form).toContain(sample.value);
    for (const iban of exampleIbans) expect(isValidIBAN(iban), iban).toBe(true);
  });

  it('misses at most 5% of the positives overall and at most 10% of any kind', () => {
    const rows = KINDS.map((kind) => {
      const of = positives.filter((s) => s.kind === kind);
      const missed = of.filter((s) => !found(s));
      return { kind, total: of.length, missed: missed.length, forms: [...new Set(missed.map((s) => s.form))] };
    });
    const total = rows.reduce((n, r) => n + r.total, 0);
    const missed = rows.reduce((n, r) => n + r.missed, 0);
    // eslint-disable-next-line no-console -- the detector's quality figures are this test's report
    console.info(
      [
        'kind         samples  missed  miss rate  forms missed',
        ...rows.map(
          (r) =>
            `${r.kind.padEnd(12)} ${String(r.total).padStart(7)} ${String(r.missed).padStart(7)} ${pct(r.missed / r.total).padStart(10)}  ${r.forms.join(', ')}`,
        ),
        `overall      ${String(total).padStart(7)} ${String(missed).padStart(7)} ${pct(missed / total).padStart(10)}`,
      ].join('\n'),
    );
    expect(missed / total).toBeLessThanOrEqual(0.05);
    for (const row of rows) expect(row.missed / row.total, row.kind).toBeLessThanOrEqual(0.1);
  });

  it('flags at most 1% of ordinary lines of prose, logs and code', () => {
    const flagged = negatives.filter((line) => detectPii(line).length > 0);
    const byKind = Object.fromEntries(
      KINDS.map((kind) => [kind, negatives.filter((line) => detectPii(line, { kinds: [kind] }).length > 0).length]),
    );
    // eslint-disable-next-line no-console -- the false-positive rate is part of this test's report
    console.info(
      `negatives: ${negatives.length} lines, ${flagged.length} flagged (${pct(flagged.length / negatives.length)})`,
      byKind,
      flagged,
    );
    expect(flagged.length / negatives.length).toBeLessThanOrEqual(0.01);
  });
});
