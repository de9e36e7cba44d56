import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { allPages } from './mcp-pages.js';

/** What cadre keeps of an MCP tool: enough to list it without the server running. */
export interface McpToolInfo {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  /** The JSON Schema its `structuredContent` must match, when the server declares one. */
  outputSchema?: Record<string, unknown>;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; title?: string };
}

/** Every tool the server offers, following pagination cursors; none when it offers no tools. */
export async function fetchTools(client: Client, signal?: AbortSignal): Promise<McpToolInfo[]> {
  // A prompts- or resources-only server answers tools/list with "method not found".
  if (!client.getServerCapabilities()?.tools) return [];
  const tools = await allPages(async (cursor) => {
    const page = await client.listTools(cursor ? { cursor } : undefined, signal ? { signal } : undefined);
    return { items: page.tools, nextCursor: page.nextCursor };
  }, "the MCP server's tools/list");
  return tools.map((tool) => ({
    name: tool.name,
    ...(tool.description ? { description: tool.description } : {}),
    inputSchema: tool.inputSchema as Record<string, unknown>,
    ...(tool.outputSchema ? { outputSchema: tool.outputSchema as Record<string, unknown> } : {}),
    ...(tool.annotations ? { annotations: tool.annotations } : {}),
  }));
}
