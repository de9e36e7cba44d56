import type Database from 'better-sqlite3';
import { CapabilitiesSchema, type ModelCapabilities } from './pool.js';

const probeSources = ['ollama', 'openai-models', 'live', 'config'] as const;

/** What a probe found out about one model, and where from. */
export interface ProbeResult {
  capabilities: ModelCapabilities;
  /** `config`: nothing was asked; the capabilities are the ones known for the provider. */
  source: (typeof probeSources)[number];
  /** Milliseconds since the epoch. */
  probedAt: number;
}

/** Probe results kept between processes, so a CLI start or a run does not probe every model again. */
export interface CapabilityCache {
  /** The entry, or undefined when there is none or it is older than the TTL. */
  get(key: string): ProbeResult | undefined;
  /** Stores a result under `key` (`provider:model@baseURL`), replacing any older one. */
  set(key: string, result: ProbeResult): void;
  /** Forgets every entry, so each model is probed again. */
  clear(): void;
}

/** The database a capability cache lives in, and how long its entries stay fresh. */
export interface CapabilityCacheOptions {
  db: Database.Database;
  /** How long an entry stays fresh. */
  ttlMs: number;
  /** The clock, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

interface Row {
  capabilities: string;
  source: string;
  probed_at: number;
}

/** A capability cache in the `model_capabilities` table of a SQLite database (created if missing). */
export function createCapabilityCache(options: CapabilityCacheOptions): CapabilityCache {
  const { db, ttlMs, now = Date.now } = options;
  db.exec(`CREATE TABLE IF NOT EXISTS model_capabilities (
    key TEXT PRIMARY KEY, capabilities TEXT NOT NULL, source TEXT NOT NULL, probed_at INTEGER NOT NULL
  )`);
  const select = db.prepare('SELECT capabilities, source, probed_at FROM model_capabilities WHERE key = ?');
  const upsert = db.prepare(
    `INSERT INTO model_capabilities (key, capabilities, source, probed_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET capabilities = excluded.capabilities, source = excluded.source, probed_at = excluded.probed_at`,
  );
  return {
    get(key) {
      const row = select.get(key) as Row | undefined;
      if (!row || now() - row.probed_at >= ttlMs) return undefined;
      return fromRow(row);
    },
    set(key, result) {
      upsert.run(key, JSON.stringify(result.capabilities), result.source, Math.round(result.probedAt));
    },
    clear() {
      db.exec('DELETE FROM model_capabilities');
    },
  };
}

// A row another version wrote, or one edited by hand, is a cache miss: the model is probed again.
function fromRow(row: Row): ProbeResult | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(row.capabilities);
  } catch {
    return undefined;
  }
  const capabilities = CapabilitiesSchema.safeParse(raw);
  const source = probeSources.find((s) => s === row.source);
  if (!capabilities.success || !source) return undefined;
  return { capabilities: capabilities.data, source, probedAt: row.probed_at };
}
