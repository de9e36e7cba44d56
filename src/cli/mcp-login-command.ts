import { join } from 'node:path';
import pc from 'picocolors';
import { CadreError, loadConfig, type CadreConfigInput } from '../core/index.js';
import { isStdioServer, loginMcpServer, logoutMcpServer, parseMcpServers } from '../../tools/index.js';

/** The HTTP server entry named `server` in the config's `mcpServers`. */
function httpServer(configInput: CadreConfigInput, server: string) {
  const config = loadConfig(configInput);
  const servers = parseMcpServers(config.mcpServers ?? {});
  const entry = servers[server];
  if (!entry) {
    const known = Object.keys(servers).join(', ') || 'none';
    throw new CadreError('not_found', `No MCP server "${server}" in mcpServers (configured: ${known})`);
  }
  if (isStdioServer(entry)) {
    throw new CadreError('input_invalid', `MCP server "${server}" runs over stdio: only HTTP servers log in`);
  }
  return { entry, oauthDir: join(config.dataDir, 'mcp-auth') };
}

/**
 * `cadre mcp login <server>`: OAuth 2.1 login to an HTTP MCP server. Prints the authorization URL
 * (to stderr, so `--json` output stays clean), waits for the browser on 127.0.0.1, saves the tokens.
 */
export async function loginMcp(options: { config: CadreConfigInput; server: string; json: boolean }): Promise<number> {
  const { entry, oauthDir } = httpServer(options.config, options.server);
  const result = await loginMcpServer({
    server: options.server,
    config: entry,
    oauthDir,
    onAuthorizationUrl: (url) =>
      process.stderr.write(`Open this URL in a browser to log in to ${options.server}:\n\n  ${url.href}\n\n`),
  });
  if (options.json) process.stdout.write(`${JSON.stringify({ server: options.server, ...result })}\n`);
  else if (result.status === 'not_required') {
    process.stdout.write(`${options.server} let cadre in without a login: nothing saved\n`);
  } else process.stdout.write(`${pc.green('Logged in')} to ${options.server}; tokens saved in ${oauthDir}\n`);
  return 0;
}

/** `cadre mcp logout <server>`: forgets the server's saved tokens and registration. */
export function logoutMcp(options: { config: CadreConfigInput; server: string }): number {
  const { entry, oauthDir } = httpServer(options.config, options.server);
  const removed = logoutMcpServer({ server: options.server, config: entry, oauthDir });
  process.stdout.write(removed ? `Logged out of ${options.server}\n` : `No saved login for ${options.server}\n`);
  return 0;
}
