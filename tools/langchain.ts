import { tool as lcTool, type StructuredToolInterface } from '@langchain/core/tools';
import { defineTool, type Tool, type ToolEffects, type ToolInputSchema } from './define-tool.js';
import { StructuredOutput } from './structured-output.js';

/** A LangChain tool with the cadre tool's name, description and input schema, for `bindTools`. */
export function toLangChainTool(tool: Tool): StructuredToolInterface {
  // The model only needs the schema from this; calls are made through the ToolExecutor.
  return lcTool(
    async (args: Record<string, unknown>) =>
      stringify(await tool.run(args, { signal: new AbortController().signal, runId: '', taskId: '', callId: '' })),
    {
      name: tool.name,
      description: tool.description,
      schema: tool.input,
    },
  );
}

/** Wraps any LangChain tool as a cadre tool; its effects must be declared by the caller. */
export function fromLangChainTool(
  tool: StructuredToolInterface,
  options: { effects: ToolEffects; idempotent?: boolean; timeoutMs?: number },
): Tool {
  return defineTool({
    name: tool.name,
    description: tool.description,
    input: tool.schema as ToolInputSchema,
    effects: options.effects,
    ...(options.idempotent !== undefined ? { idempotent: options.idempotent } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    run: async (args, context) => tool.invoke(args, { signal: context.signal }),
  });
}

/** Tool output as text: strings as they are, a StructuredOutput's text, anything else as JSON. */
export function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (StructuredOutput.isInstance(value)) return value.text;
  if (value === undefined) return '';
  return JSON.stringify(value) ?? String(value);
}
