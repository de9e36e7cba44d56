const closing = /<\s*\/\s*tool_output\s*>/gi;
const opening = /<\s*tool_output\b/gi;

/**
 * Wraps a tool's output in marked delimiters so the model can tell data from instructions.
 * Tags inside the output are neutralised, so a tool cannot close the block early and speak as us.
 */
export function delimitUntrusted(toolName: string, output: string): string {
  const safe = output.replace(closing, '&lt;/tool_output&gt;').replace(opening, '&lt;tool_output');
  const name = toolName.replace(/[^a-zA-Z0-9_-]/g, '_');
  return `<tool_output tool="${name}" untrusted="true">\n${safe}\n</tool_output>`;
}

const wrapped = /^<tool_output tool="[^"]*" untrusted="true">\n([\s\S]*)\n<\/tool_output>$/;

/** The content inside `delimitUntrusted`'s wrapper, or the text unchanged when it is not wrapped. */
export function unwrapUntrusted(text: string): string {
  return wrapped.exec(text)?.[1] ?? text;
}
