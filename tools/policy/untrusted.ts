import { randomFillSync } from 'node:crypto';

// A `<` that starts anything an XML-ish reader (or a model) could take for a tool_output tag:
// opening, closing or self-closing, any case, any spaces, slashes or punctuation before the name,
// a namespace prefix, any attributes after it. Matching too much costs nothing: only the `<` is
// escaped, so the rest of the text reads as before.
const tagStart = /<(?=[^\w<>]*(?:[\w.:-]*:)?tool_output)/gi;

/** The output with every tool_output tag in it made inert (its `<` escaped as `&lt;`). */
export function neutraliseUntrusted(output: string): string {
  return output.replace(tagStart, '&lt;');
}

/**
 * Wraps a tool's output in marked delimiters so the model can tell data from instructions.
 * Tags inside the output are neutralised, so a tool cannot close the block early and speak as us;
 * the block's id is random per call, so a look-alike closing the neutraliser lets through (an
 * entity-encoded or full-width one) still cannot carry the id of the real one.
 */
export function delimitUntrusted(toolName: string, output: string): string {
  const name = toolName.replace(/[^a-zA-Z0-9_-]/g, '_');
  const id = randomId();
  return `<tool_output tool="${name}" untrusted="true" id="${id}">\n${neutraliseUntrusted(output)}\n</tool_output id="${id}">`;
}

// Ids come from a pooled random buffer: one call into the system per 512 ids, not one per result.
const pool = Buffer.alloc(4096);
let taken = pool.length;

/** 16 random hex digits, as unpredictable as `randomBytes(8)`. */
function randomId(): string {
  if (taken + 8 > pool.length) {
    randomFillSync(pool);
    taken = 0;
  }
  taken += 8;
  return pool.toString('hex', taken - 8, taken);
}

const wrapped = /^<tool_output tool="[^"]*" untrusted="true" id="([0-9a-f]{16})">\n([\s\S]*)\n<\/tool_output id="\1">$/;

/** The content inside `delimitUntrusted`'s wrapper (neutralised), or the text unchanged when it is not wrapped. */
export function unwrapUntrusted(text: string): string {
  return wrapped.exec(text)?.[2] ?? text;
}
