const marker = Symbol.for('cadre.structured-output');

/**
 * A tool result in two forms: `text` for the model, `structured` for code. The tool executor
 * passes the text on as the output and the value as `ToolOutcome.structured`; `String()` of it is
 * the text, so callers that only want text need not know about it.
 */
export class StructuredOutput {
  readonly [marker] = true;

  constructor(
    readonly text: string,
    readonly structured: unknown,
  ) {}

  /** True for a StructuredOutput from any copy of cadre (checked by marker, not `instanceof`). */
  static isInstance(value: unknown): value is StructuredOutput {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }

  /** The text, as the model reads it. */
  toString(): string {
    return this.text;
  }

  /** Serialised, it is its value. */
  toJSON(): unknown {
    return this.structured;
  }
}
