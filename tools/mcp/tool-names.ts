import { createHash } from 'node:crypto';

/** One MCP tool as its server names it. */
export interface McpToolRef {
  server: string;
  tool: string;
}

const maxLength = 64;
const hashLength = 8;
const unsafe = /[^a-zA-Z0-9_-]/g;

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, hashLength);
}

/**
 * The provider-safe name of `server`'s `tool`: `<server>__<tool>` when that already matches
 * `[a-zA-Z0-9_-]{1,64}`, otherwise sanitised, cut and suffixed with a hash of the original pair,
 * so the same pair always gets the same name.
 */
export function mcpToolName(server: string, tool: string): string {
  const plain = `${server}__${tool}`;
  if (plain.length <= maxLength && !/[^a-zA-Z0-9_-]/.test(plain)) return plain;
  return withHash(plain.replace(unsafe, '_'), `${server}\u0000${tool}`);
}

function withHash(base: string, key: string): string {
  return `${base.slice(0, maxLength - hashLength - 1)}_${shortHash(key)}`;
}

/**
 * A two-way mapping between provider-safe names and MCP tools, built from the whole set at once
 * so collisions are resolved the same way whatever order servers answered in.
 */
export class McpToolNames {
  private readonly byName = new Map<string, McpToolRef>();
  private readonly byRef = new Map<string, string>();

  constructor(refs: Iterable<McpToolRef>) {
    const sorted = [...refs].sort((a, b) => compare(refKey(a), refKey(b)));
    for (const ref of sorted) {
      const key = refKey(ref);
      if (this.byRef.has(key)) continue;
      let name = mcpToolName(ref.server, ref.tool);
      // Only "a__b"+"c" vs "a"+"b__c" style pairs can clash; the later one in sort order gets a hash.
      for (let n = 0; this.byName.has(name); n++)
        name = withHash(name.replace(/_[0-9a-f]{8}$/, ''), `${key}\u0000${n}`);
      this.byName.set(name, ref);
      this.byRef.set(key, name);
    }
  }

  /** The safe name for a server's tool, or undefined when the tool is not in the set. */
  nameOf(server: string, tool: string): string | undefined {
    return this.byRef.get(refKey({ server, tool }));
  }

  /** The server and original tool name behind a safe name. */
  resolve(name: string): McpToolRef | undefined {
    return this.byName.get(name);
  }

  /** Every safe name, in a stable order. */
  names(): string[] {
    return [...this.byName.keys()];
  }
}

const refKey = (ref: McpToolRef): string => `${ref.server}\u0000${ref.tool}`;
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
