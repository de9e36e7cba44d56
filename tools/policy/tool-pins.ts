import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { CadreError, canonicalJson } from '../../src/core/index.js';
import type { Tool } from '../define-tool.js';
import { toolJsonSchema, type ToolWithJsonSchema } from './tool-json-schema.js';

/** `new`: never pinned; `pinned`: as approved; `quarantined`: changed since it was pinned. */
export type PinState = 'new' | 'pinned' | 'quarantined';

/** How a tool compares with its pin. */
export interface PinCheck {
  state: PinState;
  /** What differs from the pinned version: `description` and/or `schema`. */
  changes?: string[];
}

/** A pinned tool: the approved description and schema, and their hash. */
export interface ToolPin {
  name: string;
  /** SHA-256 of the name, description and schema. */
  hash: string;
  description: string;
  schema: Record<string, unknown>;
  /** When it was pinned, in ms since the epoch. */
  approvedAt: number;
}

/** Which tools a pin store pins, a listener for changed tools, and its clock. */
export interface ToolPinStoreOptions {
  /** Told when a pinned tool changes under the same name (a possible rug pull). */
  onChange?: (change: { name: string; changes: string[] }) => void;
  /** The clock, in ms. Default `Date.now`. */
  now?: () => number;
  /**
   * Which tools are pinned. Default: every tool. cadre's runs pin tools from MCP servers only, whose
   * definitions can change under the same name; its own tools change only with its version.
   */
  applies?: (tool: Tool) => boolean;
}

interface Row {
  name: string;
  hash: string;
  description: string;
  schema: string;
  approved_at: number;
}

type Fingerprint = Omit<ToolPin, 'approvedAt'>;

/**
 * The table and statements of a connection, made once: a run makes its own store on a shared
 * connection, and every tool call checks its pin, some twice.
 */
const statements = new WeakMap<Database.Database, ReturnType<typeof prepare>>();

function prepare(db: Database.Database) {
  db.exec(`CREATE TABLE IF NOT EXISTS tool_pins (
    name TEXT PRIMARY KEY, hash TEXT NOT NULL, description TEXT NOT NULL, schema TEXT NOT NULL, approved_at INTEGER NOT NULL
  )`);
  return {
    hashOf: db.prepare<[string], string>('SELECT hash FROM tool_pins WHERE name = ?').pluck(),
    rowOf: db.prepare<[string], Row>('SELECT * FROM tool_pins WHERE name = ?'),
    upsert: db.prepare<[string, string, string, string, number]>(
      'INSERT INTO tool_pins (name, hash, description, schema, approved_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET hash = excluded.hash, description = excluded.description, schema = excluded.schema, approved_at = excluded.approved_at',
    ),
  };
}

function statementsOf(db: Database.Database): ReturnType<typeof prepare> {
  let made = statements.get(db);
  if (!made) statements.set(db, (made = prepare(db)));
  return made;
}

/**
 * Trust on first use for tools: the first approved version of a tool is pinned by hash, and a later
 * tool with the same name but another description or schema is quarantined until re-approved. This
 * catches an MCP server that swaps a tool's instructions after it was trusted.
 */
export class ToolPinStore {
  private readonly pending = new Map<string, Fingerprint>();
  /** Tools the last check found pinned: a pin is never removed, so they need no pinning. */
  private readonly seenPinned = new WeakSet<Tool>();
  private readonly now: () => number;
  private readonly hashOf: Database.Statement<[string], string>;
  private readonly rowOf: Database.Statement<[string], Row>;
  private readonly upsert: Database.Statement<[string, string, string, string, number]>;

  constructor(
    private readonly db: Database.Database,
    private readonly options: ToolPinStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    ({ hashOf: this.hashOf, rowOf: this.rowOf, upsert: this.upsert } = statementsOf(db));
  }

  /** Compares the tool with its pin; a changed tool is remembered so `approve(name)` can re-pin it. */
  check(tool: Tool): PinCheck {
    if (this.options.applies && !this.options.applies(tool)) return { state: 'pinned' };
    // The pin is read on every check (another run or process may re-pin); the tool is hashed once.
    const pinned = this.hashOf.get(tool.name);
    if (pinned === undefined) return this.seen(tool, 'new');
    const current = fingerprint(tool);
    if (current.hash === pinned) return this.seen(tool, 'pinned');
    // The whole pin only for a changed tool; it may have been re-pinned since the first read.
    const row = this.rowOf.get(tool.name);
    if (!row) return this.seen(tool, 'new');
    if (row.hash === current.hash) return this.seen(tool, 'pinned');
    this.seenPinned.delete(tool);
    const changes: string[] = [];
    if (current.description !== row.description) changes.push('description');
    if (canonicalJson(current.schema) !== row.schema) changes.push('schema');
    if (!this.pending.has(tool.name) || this.pending.get(tool.name)!.hash !== current.hash) {
      this.pending.set(tool.name, current);
      this.options.onChange?.({ name: tool.name, changes });
    }
    return { state: 'quarantined', changes };
  }

  /** Pins the tool when it has no pin yet; one the last check found pinned is not read again. */
  pinIfNew(tool: Tool): void {
    if (this.seenPinned.has(tool)) return;
    if (this.check(tool).state === 'new') this.pin(tool);
  }

  /** Pins the tool as it is now, replacing any earlier pin. */
  pin(tool: Tool): ToolPin {
    if (this.options.applies && !this.options.applies(tool)) return { ...fingerprint(tool), approvedAt: this.now() };
    return this.write(fingerprint(tool));
  }

  /** Re-pins a quarantined tool to the changed version last seen by `check`, making it callable. */
  approve(name: string): ToolPin {
    const seen = this.pending.get(name);
    if (!seen) throw new CadreError('input_invalid', `No changed version of tool "${name}" is waiting for approval`);
    this.pending.delete(name);
    return this.write(seen);
  }

  /** Every pinned tool, by name. */
  list(): ToolPin[] {
    const rows = this.db.prepare('SELECT * FROM tool_pins ORDER BY name').all() as Row[];
    return rows.map((r) => ({
      name: r.name,
      hash: r.hash,
      description: r.description,
      schema: JSON.parse(r.schema) as Record<string, unknown>,
      approvedAt: r.approved_at,
    }));
  }

  private seen(tool: Tool, state: 'new' | 'pinned'): PinCheck {
    if (state === 'pinned') this.seenPinned.add(tool);
    else this.seenPinned.delete(tool);
    return { state };
  }

  private write(print: Fingerprint): ToolPin {
    const approvedAt = this.now();
    this.upsert.run(print.name, print.hash, print.description, canonicalJson(print.schema), approvedAt);
    return { ...print, approvedAt };
  }
}

// Hashed once per definition, not per call. A definition is the tool's name, description and
// schema object; a server's changed tool list makes new tool objects, so it is hashed afresh.
const prints = new WeakMap<Tool, { source: object; print: Fingerprint }>();

function fingerprint(tool: Tool): Fingerprint {
  const source = (tool as ToolWithJsonSchema).jsonSchema ?? tool.input;
  const known = prints.get(tool);
  if (known?.source === source && known.print.name === tool.name && known.print.description === tool.description)
    return known.print;
  const schema = toolJsonSchema(tool);
  const hash = createHash('sha256')
    .update(canonicalJson({ name: tool.name, description: tool.description, schema }))
    .digest('hex');
  const print = { name: tool.name, hash, description: tool.description, schema };
  prints.set(tool, { source, print });
  return print;
}
