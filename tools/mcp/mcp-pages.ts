import { CadreError } from '../../src/core/index.js';

/** One page of an MCP list result. */
export interface McpPage<T> {
  items: T[];
  nextCursor?: string | undefined;
}

/**
 * Every item of a paginated MCP list (`tools/list`, `prompts/list`, `resources/list`, …), asking
 * for the next page while the server returns a `nextCursor`. A cursor the server already gave
 * would loop forever, so it fails with `tool_failed` naming `what`.
 */
export async function allPages<T>(fetchPage: (cursor?: string) => Promise<McpPage<T>>, what: string): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    cursor = page.nextCursor || undefined;
    if (cursor !== undefined) {
      if (seen.has(cursor))
        throw new CadreError('tool_failed', `${what} returned the cursor "${cursor}" twice; stopped paging`);
      seen.add(cursor);
    }
  } while (cursor !== undefined);
  return items;
}
