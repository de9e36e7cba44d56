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

/** mulberry32, the seeded PRNG cadre/testing ships, so benches and tests draw the same sequences. */
export { mulberry32 } from 'cadre/testing';
