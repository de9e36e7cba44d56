import { z } from 'zod';
import type { Tool } from '../define-tool.js';
import type { ToolWithJsonSchema } from './tool-json-schema.js';

const compiled = new WeakMap<object, z.ZodType | null>();

/**
 * Checks arguments against the JSON Schema a tool declares (MCP tools), since their zod `input` is
 * often looser than what the server enforces. Returns readable issues, or undefined when valid.
 */
export function jsonSchemaArgIssues(tool: Tool, args: unknown): string | undefined {
  const declared = (tool as ToolWithJsonSchema).jsonSchema;
  if (!declared) return undefined;
  let schema = compiled.get(declared);
  if (schema === undefined) {
    try {
      schema = z.fromJSONSchema(declared as Parameters<typeof z.fromJSONSchema>[0]);
    } catch {
      // A schema zod cannot read is the server's problem; the server validates again anyway.
      schema = null;
    }
    compiled.set(declared, schema);
  }
  if (!schema) return undefined;
  const parsed = schema.safeParse(args);
  if (parsed.success) return undefined;
  return parsed.error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ');
}
