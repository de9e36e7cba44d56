import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { McpServerConfig } from './mcp-config.js';
import type { McpToolInfo } from './mcp-tool-info.js';

interface CacheFile {
  /** 2 since tools keep their `outputSchema`; older files are a miss, so their schemas are fetched. */
  version: 2;
  servers: Record<string, { configHash: string; updatedAt: string; tools: McpToolInfo[] }>;
}

/** A stable hash of everything that decides which server runs, so a changed config misses the cache. */
export function mcpConfigHash(config: McpServerConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}

/**
 * Tool lists per server kept in a JSON file, so agents see a server's tools without starting it.
 * Entries are keyed by server name and checked against the config hash; a stale entry is a miss.
 */
export class McpToolCache {
  private data: CacheFile = { version: 2, servers: {} };
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly path: string | undefined) {}

  /** Loads the cache file; a missing or unreadable file is an empty cache, never an error. */
  static async load(path: string | undefined): Promise<McpToolCache> {
    const cache = new McpToolCache(path);
    if (!path) return cache;
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<CacheFile>;
      if (parsed.version === 2 && parsed.servers && typeof parsed.servers === 'object')
        cache.data = parsed as CacheFile;
    } catch {
      // Absent or corrupt: treat as empty and rewrite on the next connect.
    }
    return cache;
  }

  /** The cached tools for a server, or undefined when missing or written for another config. */
  get(server: string, config: McpServerConfig): McpToolInfo[] | undefined {
    const entry = this.data.servers[server];
    return entry && entry.configHash === mcpConfigHash(config) ? entry.tools : undefined;
  }

  /** Records a server's tools and writes the file (atomically, writes serialised). */
  async set(server: string, config: McpServerConfig, tools: McpToolInfo[]): Promise<void> {
    this.data.servers[server] = { configHash: mcpConfigHash(config), updatedAt: new Date().toISOString(), tools };
    const path = this.path;
    if (!path) return;
    const snapshot = JSON.stringify(this.data, null, 2);
    const write = this.writing.then(async () => {
      await mkdir(dirname(path), { recursive: true });
      const temp = `${path}.${process.pid}.tmp`;
      await writeFile(temp, snapshot);
      await rename(temp, path);
    });
    // One failed write must not block every later one.
    this.writing = write.catch(() => undefined);
    await write;
  }

  /** Resolves once every write started so far has finished. */
  flush(): Promise<void> {
    return this.writing;
  }
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
