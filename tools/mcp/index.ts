export { parseMcpServers, mcpServersConfigSchema, mcpServerConfigSchema, isStdioServer } from './mcp-config.js';
export type { McpServersConfig, McpServerConfig, McpStdioServerConfig, McpHttpServerConfig } from './mcp-config.js';
export { McpToolNames, mcpToolName, type McpToolRef } from './tool-names.js';
export { McpServerConnection, idempotencyMetaKey } from './mcp-server-connection.js';
export type { McpResourceListener } from './mcp-resource-subscriptions.js';
export { declineReasonMetaKey } from './mcp-client-setup.js';
export type {
  McpSamplingHandler,
  McpSamplingRequest,
  McpElicitHandler,
  McpElicitRequest,
  McpServerRequestEvent,
} from './mcp-client-setup.js';
export type { McpSandboxSettings } from './mcp-sandbox.js';
export type { McpToolInfo } from './mcp-tool-info.js';
export type {
  McpServerState,
  McpProgress,
  McpCallOptions,
  McpServerConnectionOptions,
} from './mcp-server-connection.js';
export { McpToolCache, mcpConfigHash } from './mcp-tool-cache.js';
export { mcpResultText, mcpResourceText, mcpPromptText } from './mcp-result-text.js';
export { createMcpToolset } from './mcp-tools.js';
export type {
  McpTool,
  McpToolset,
  McpToolsetOptions,
  McpToolCall,
  McpCallEnd,
  McpEvent,
  McpServerStatus,
  McpPromptInfo,
  McpResourceInfo,
  McpResourceTemplateInfo,
  McpResourceContents,
} from './mcp-tools.js';
export { loginMcpServer, logoutMcpServer, type McpLoginOptions, type McpLoginResult } from './mcp-login.js';
export { McpOAuthStore, type McpOAuthRecord } from './mcp-oauth-store.js';
