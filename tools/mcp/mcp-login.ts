import type { McpHttpServerConfig } from './mcp-config.js';
import type { McpLoginOptions, McpLoginResult } from './mcp-login-flow.js';
import { McpOAuthStore } from './mcp-oauth-store.js';

export type { McpLoginOptions, McpLoginResult } from './mcp-login-flow.js';

/**
 * Logs cadre in to an OAuth-protected HTTP MCP server (authorization code + PKCE through a browser
 * and a loopback listener) and saves the tokens, so runs reach the server with no person present.
 * What `cadre mcp login <server>` does. Loads the MCP SDK on call.
 */
export async function loginMcpServer(options: McpLoginOptions): Promise<McpLoginResult> {
  const { runMcpLogin } = await import('./mcp-login-flow.js');
  return runMcpLogin(options);
}

/** Forgets a server's saved login (tokens and registration); false when there was none. */
export function logoutMcpServer(options: { server: string; config: McpHttpServerConfig; oauthDir: string }): boolean {
  return new McpOAuthStore(options.oauthDir).remove(options.server, options.config.url);
}
