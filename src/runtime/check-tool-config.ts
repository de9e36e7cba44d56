import { parseMcpServers } from '../../tools/mcp/mcp-config.js';
import { ToolPolicy } from '../../tools/policy/tool-policy.js';
import type { CadreConfig } from '../core/index.js';

/** Checks the policy and MCP config at once, so a bad one fails `run()` before anything starts. */
export function checkToolConfig(config: CadreConfig): void {
  if (config.toolPolicy) new ToolPolicy(config.toolPolicy as never);
  if (config.mcpServers) parseMcpServers(config.mcpServers);
}
