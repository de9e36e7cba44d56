import { z } from 'zod';
import type { Task } from './task-graph.js';

/** A task's expected output as a zod schema, or an error message when its JSON Schema is unusable. */
export function outputSchemaOf(task: Task): { schema?: z.ZodType; error?: string } {
  const json = task.output?.schema;
  if (!json) return {};
  try {
    return { schema: z.fromJSONSchema(json as Parameters<typeof z.fromJSONSchema>[0]) };
  } catch (error) {
    return {
      error: `Task "${task.id}" has an output schema that is not usable JSON Schema: ${(error as Error).message}`,
    };
  }
}

/** Finds the JSON value in an answer: a fenced block, else the outermost object or array. */
export function extractJson(text: string): { value?: unknown; error?: string } {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text)?.[1];
  const starts = [text.indexOf('{'), text.indexOf('[')].filter((i) => i >= 0);
  const start = starts.length ? Math.min(...starts) : -1;
  const end = Math.max(text.lastIndexOf('}'), text.lastIndexOf(']'));
  const candidate = fenced ?? (start >= 0 && end > start ? text.slice(start, end + 1) : text);
  try {
    return { value: JSON.parse(candidate.trim()) };
  } catch (error) {
    return { error: `the answer is not JSON (${(error as Error).message})` };
  }
}
