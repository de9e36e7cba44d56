import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CadreError } from '../../src/core/index.js';

// Compiled once per schema object: a tool list is fetched once per connection, called many times.
const compiled = new WeakMap<object, z.ZodType | string>();

function compile(schema: Record<string, unknown>): z.ZodType | string {
  let found = compiled.get(schema);
  if (found === undefined) {
    try {
      found = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    } catch (error) {
      found = error instanceof Error ? error.message : String(error);
    }
    compiled.set(schema, found);
  }
  return found;
}

/**
 * The `structuredContent` of a successful call to a tool that declares an `outputSchema`, checked
 * against that schema (the spec says clients SHOULD). Missing or mismatching content, or a schema
 * that is not usable JSON Schema, throws `tool_failed` naming the tool and what is wrong.
 */
export function checkedStructuredContent(
  where: { server: string; tool: string },
  outputSchema: Record<string, unknown>,
  result: CallToolResult,
): Record<string, unknown> {
  const name = `MCP tool ${where.tool} on server "${where.server}"`;
  if (result.structuredContent === undefined)
    throw new CadreError('tool_failed', `${name} declares an output schema but returned no structuredContent`);
  const schema = compile(outputSchema);
  if (typeof schema === 'string')
    throw new CadreError('tool_failed', `${name} declares an output schema that is not usable JSON Schema: ${schema}`);
  const parsed = schema.safeParse(result.structuredContent);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
    throw new CadreError(
      'tool_failed',
      `${name} returned structuredContent that does not match its output schema: ${problems.join('; ')}`,
      { details: { server: where.server, tool: where.tool } },
    );
  }
  // The server's value, not zod's output: zod may strip or coerce, and code should see what came.
  return result.structuredContent;
}
