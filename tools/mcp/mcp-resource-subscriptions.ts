import type { Logger } from '../../src/core/index.js';

/** Called when a subscribed resource changed; read it again to see how. */
export type McpResourceListener = (uri: string) => void;

/** Who listens to which resource URI of one server; outlives its connections, so a reconnect can subscribe again. */
export class McpResourceSubscriptions {
  private readonly listeners = new Map<string, Set<McpResourceListener>>();

  constructor(private readonly report: { server: string; logger: Logger }) {}

  /** How many URIs are subscribed. */
  get size(): number {
    return this.listeners.size;
  }

  /** Every subscribed URI. */
  uris(): IterableIterator<string> {
    return this.listeners.keys();
  }

  /** True when someone already listens to `uri`, so the server need not be asked again. */
  has(uri: string): boolean {
    return this.listeners.has(uri);
  }

  add(uri: string, listener: McpResourceListener): void {
    const known = this.listeners.get(uri);
    if (known) known.add(listener);
    else this.listeners.set(uri, new Set([listener]));
  }

  /** Removes one listener; true when it was the last for `uri`, so the server can be told. */
  remove(uri: string, listener: McpResourceListener): boolean {
    const known = this.listeners.get(uri);
    if (!known?.delete(listener) || known.size > 0) return false;
    this.listeners.delete(uri);
    return true;
  }

  clear(): void {
    this.listeners.clear();
  }

  /** Tells every listener of `uri`; one that throws is logged and does not stop the others. */
  notify(uri: string): void {
    for (const listener of this.listeners.get(uri) ?? []) {
      try {
        listener(uri);
      } catch (error) {
        this.report.logger.warn({ mcpServer: this.report.server, uri, err: error }, 'MCP resource listener failed');
      }
    }
  }
}
