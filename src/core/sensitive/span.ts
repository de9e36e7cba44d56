/** Where a finding sits in a text: [start, end) in UTF-16 code units. */
export type Span = [start: number, end: number];

/**
 * Runs a global regex over `text` on a private copy, so a caller that stops early leaves no state
 * behind. A rejected match resumes one character later, so a look-alike cannot hide a real value.
 * Patterns start at a lookbehind or a literal and use bounded repetition, keeping scans linear.
 */
export function* spans(
  pattern: RegExp,
  text: string,
  accept: (m: RegExpExecArray) => Span | undefined,
): Generator<Span> {
  const re = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const span = accept(m);
    if (span && span[1] > span[0]) yield span;
    re.lastIndex = span ? Math.max(span[1], m.index + 1) : m.index + 1;
  }
}

/** The whole match as a span. */
export const whole = (m: RegExpExecArray): Span => [m.index, m.index + m[0].length];
