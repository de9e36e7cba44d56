/** What the benchmarks share: percentiles, number formats, a plain-text table and a seeded PRNG. */

/** The value at fraction `p` of an ascending list (nearest rank below). */
export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

export const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

const row = (cells: Array<string | number>, widths: number[]) =>
  cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  ');

/** Prints a table: the first column left-aligned, the rest right-aligned. */
export function printTable(head: string[], rows: Array<Array<string | number>>): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  console.log(row(head, widths));
  for (const r of rows) console.log(row(r, widths));
}

/** The smallest, middle and largest of some repeats' figures (the median of an even count: the upper one). */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

export const spread = (values: number[]): Spread => {
  const s = [...values].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s.at(-1)! };
};

/** A spread as "min / median / max", each with `digits` decimals. */
export const showSpread = (v: Spread, digits: number) =>
  `${fmt(v.min, digits)} / ${fmt(v.median, digits)} / ${fmt(v.max, digits)}`;

/** The value after `name` (e.g. `--runs`) on the command line, if given. */
export const textFlag = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

/** The number after `name` on the command line, else `fallback`. */
export const numberFlag = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

/** mulberry32, the seeded PRNG cadre/testing ships, so benches and tests draw the same sequences. */
export { mulberry32 } from 'cadre/testing';
