import type { Root } from '@modelcontextprotocol/sdk/types.js';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * What cadre answers a server's `roots/list`: the workspace (when known) and the server's own
 * `roots` from its config, paths resolved against the workspace, `file://` URIs kept as given.
 */
export function mcpRootsOf(options: {
  workspaceDir?: string | undefined;
  extra?: readonly string[] | undefined;
}): Root[] {
  const base = resolve(options.workspaceDir ?? '.');
  const roots: Root[] = options.workspaceDir ? [{ uri: pathToFileURL(base).href, name: 'workspace' }] : [];
  for (const entry of options.extra ?? []) {
    const uri = entry.startsWith('file://') ? entry : pathToFileURL(resolve(base, entry)).href;
    if (!roots.some((root) => root.uri === uri)) roots.push({ uri });
  }
  return roots;
}
