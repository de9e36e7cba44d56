import { resolve } from 'node:path';
import { sandboxCommand } from '../sandbox/sandbox-command.js';
import { isStdioServer, type McpServerConfig } from './mcp-config.js';

/** The host's side of sandboxing MCP servers: where bwrap is, and what stays hidden from every server. */
export interface McpSandboxSettings {
  /** The bubblewrap executable. Default: `bwrap` on PATH. */
  bwrapPath?: string;
  /** Paths no sandboxed server sees, even inside a granted folder. Default: cadre's data dir. */
  hide?: readonly string[];
}

/**
 * The config to start: the server's own, or, when its `sandbox` is on, the same command wrapped in
 * bubblewrap. The server may read its `cwd` (where its code usually is installed) besides the system,
 * and write only where `sandbox.write` says. Throws `sandbox_unavailable` rather than start it bare.
 */
export async function sandboxedServerConfig(
  config: McpServerConfig,
  settings: McpSandboxSettings = {},
): Promise<McpServerConfig> {
  if (!isStdioServer(config) || !config.sandbox) return config;
  const grants = config.sandbox === true ? {} : config.sandbox;
  const cwd = resolve(config.cwd ?? process.cwd());
  const launch = await sandboxCommand(
    // The SDK adds its default environment to `env`; HOME and PATH fall back to ours the same way.
    { file: config.command, args: config.args ?? [], cwd, env: config.env ?? {} },
    {
      network: grants.network ?? false,
      read: [cwd, ...(grants.read ?? [])],
      write: grants.write ?? [],
      ...(settings.hide ? { hide: settings.hide } : {}),
      ...(settings.bwrapPath ? { bwrapPath: settings.bwrapPath } : {}),
    },
  );
  return { ...config, command: launch.file, args: [...launch.args], cwd: launch.cwd };
}
