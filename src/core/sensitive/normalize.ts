import type { Span } from './span.js';

/** A text prepared for scanning, and the way back from its offsets to the original's. */
export interface ScanText {
  text: string;
  /** Maps a span of `text` to the span of the original it came from. */
  toOriginal(span: Span): Span;
}

const identity = (span: Span): Span => span;
// Zero-width and other format characters (ZWSP, ZWJ, soft hyphen, BOM, bidi marks) hide a value
// from a pattern while a reader, or a model, still sees it whole.
const FORMAT = /\p{Cf}/gu;

/**
 * JSON and log lines carry line breaks escaped (`\\n`). Each escape becomes a space and the
 * character it stands for: the same length, so offsets hold, and a key or token after an escaped
 * line break starts at a word boundary as it would on a line of its own.
 */
function unescapeWhitespace(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\([nrt])/g, (_, c: string) => ` ${c === 'n' ? '\n' : c === 'r' ? '\r' : '\t'}`);
}

/**
 * Unescapes line breaks, NFKC-normalises and strips format characters, so full-width digits,
 * non-breaking spaces and a zero-width space inside an address are scanned as a reader sees them.
 * Only runs of non-ASCII characters are rewritten; the ASCII between them maps back one to one.
 */
export function prepareForScan(original: string): ScanText {
  const text = unescapeWhitespace(original);
  // eslint-disable-next-line no-control-regex -- the ASCII range is the point of the test
  const NON_ASCII = /[^\x00-\x7f]+/g;
  if (text.search(NON_ASCII) === -1) return { text, toOriginal: identity };
  // Segments [scanStart, originalStart] where a rewritten run begins, and where the ASCII after it resumes.
  const scanAt: number[] = [0];
  const originAt: number[] = [0];
  let out = '';
  let last = 0;
  for (const run of text.matchAll(NON_ASCII)) {
    const normal = run[0].replace(FORMAT, '').normalize('NFKC');
    out += text.slice(last, run.index) + normal;
    scanAt.push(out.length - normal.length, out.length);
    originAt.push(run.index, run.index + run[0].length);
    last = run.index + run[0].length;
  }
  out += text.slice(last);
  const toOriginal = (at: number, isEnd: boolean): number => {
    // The last segment that starts at or before `at` (before it, for an end: that is the last character's).
    let low = 0;
    for (let high = scanAt.length - 1; low < high;) {
      const mid = (low + high + 1) >> 1;
      if (isEnd ? scanAt[mid]! < at : scanAt[mid]! <= at) low = mid;
      else high = mid - 1;
    }
    // Inside a rewritten run (odd segments) offsets snap outwards to the run's bounds.
    if (low % 2 === 1) return isEnd ? originAt[low + 1]! : originAt[low]!;
    return originAt[low]! + (at - scanAt[low]!);
  };
  return { text: out, toOriginal: ([start, end]) => [toOriginal(start, false), toOriginal(end, true)] };
}
