import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

/** What cadre keeps of an MCP tool: enough to list it without the server running. */
export interface McpToolInfo {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; title?: string };
}

/** Every tool the server offers, following pagination cursors. */
export async function fetchTools(client: Client, signal?: AbortSignal): Promise<McpToolInfo[]> {
  const tools: McpToolInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : undefined, signal ? { signal } : undefined);
    for (const tool of page.tools) {
      tools.push({
        name: tool.name,
        ...(tool.description ? { description: tool.description } : {}),
        inputSchema: tool.inputSchema as Record<string, unknown>,
        ...(tool.annotations ? { annotations: tool.annotations } : {}),
      });
    }
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}
