import { z } from 'zod';
import type { Tool } from '../define-tool.js';

/** A tool that carries the JSON Schema its server declared (MCP tools do). */
export type ToolWithJsonSchema = Tool & { jsonSchema?: Record<string, unknown> };

/** The tool's input as JSON Schema: the declared one when present, else derived from its zod schema. */
export function toolJsonSchema(tool: Tool): Record<string, unknown> {
  const declared = (tool as ToolWithJsonSchema).jsonSchema;
  if (declared) return declared;
  return z.toJSONSchema(tool.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
