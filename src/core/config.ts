import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CadreError } from './errors.js';
import { rejectUnknownKeys } from './unknown-keys.js';

const csv = (value: unknown) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : value;

export const providerKinds = ['ollama', 'local', 'openai', 'anthropic'] as const;
export type ProviderKind = (typeof providerKinds)[number];

/** cadre's configuration. Every field has a default or is optional; `CADRE_*` variables override. */
export const ConfigSchema = z.object({
  /** Most model calls one run may make. */
  maxSteps: z.coerce.number().int().positive().default(20),
  maxTokens: z.coerce.number().int().positive().optional(),
  maxCostUsd: z.coerce.number().nonnegative().optional(),
  maxWallTimeMs: z.coerce.number().int().positive().optional(),
  toolTimeoutMs: z.coerce.number().int().positive().default(30_000),
  toolOutputMaxChars: z.coerce.number().int().positive().default(16_000),
  /** Where runs, journals and memory are stored. */
  dataDir: z.string().min(1).default('.cadre'),
  /** cadre's SQLite database (checkpoints, events, journals, runs); default `<dataDir>/cadre.db`; `:memory:` keeps nothing. */
  databasePath: z.string().min(1).optional(),
  /** `normal`: survives a killed process; `full`: also a power cut, slower. */
  durability: z.enum(['normal', 'full']).default('normal'),
  /** Tasks of one run that may work at the same time. */
  concurrency: z.coerce.number().int().positive().max(256).default(4),
  /**
   * Runs of one process that execute at the same time; more wait their turn. Between model calls a
   * run is CPU work (LangGraph, SQLite): when many runs have little to wait for, a lower cap keeps
   * the event loop responsive (see bench/README.md); runs that wait on models want a high one.
   */
  maxActiveRuns: z.coerce.number().int().positive().max(100_000).default(256),
  /** What a run does when a task fails after its retries. */
  failurePolicy: z.enum(['replan', 'retry', 'reflect', 'continue', 'fail-fast']).default('replan'),
  /** Extra attempts for a failed task (policies retry, reflect, replan). */
  maxRetries: z.coerce.number().int().nonnegative().max(10).default(1),
  /** Plan revisions one run may make. */
  maxReplans: z.coerce.number().int().nonnegative().max(10).default(2),
  /** With memory, have a model extract facts from each task's result into the knowledge graph (one call per task). */
  learnFacts: z
    .preprocess((v) => (typeof v === 'string' ? ['1', 'true', 'yes', 'on'].includes(v.toLowerCase()) : v), z.boolean())
    .default(false),
  /** The memory tenant runs read and write (memory under `<dataDir>/memory`). */
  memoryTenant: z
    .string()
    .regex(/^[A-Za-z0-9_.:@-]{1,128}$/, '1-128 letters, digits or _ . : @ -')
    .default('default'),
  /** Root folder the built-in file tools may touch. */
  workspaceDir: z.string().min(1).default('.'),
  /** Hosts the http_fetch tool may reach. */
  httpAllowedHosts: z.preprocess(csv, z.array(z.string().min(1))).default([]),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  /** An explicit model, as `provider:model` (e.g. `ollama:llama3.1`, `openai:gpt-4o-mini`). */
  model: z
    .string()
    .regex(/^(ollama|local|openai|anthropic):.+$/, 'expected provider:model, e.g. ollama:llama3.1')
    .optional(),
  /** The order in which reachable providers are preferred. */
  modelOrder: z
    .preprocess(csv, z.array(z.enum(providerKinds)).min(1))
    .default(['ollama', 'local', 'openai', 'anthropic']),
  ollamaHost: z.string().url().default('http://127.0.0.1:11434'),
  localBaseUrl: z.string().url().optional(),
  localApiKey: z.string().optional(),
  openaiApiKey: z.string().min(1).optional(),
  openaiBaseUrl: z.string().url().optional(),
  anthropicApiKey: z.string().min(1).optional(),
  anthropicBaseUrl: z.string().url().optional(),
  /** The model pool: entries `{ provider, model, location, capabilities, price, concurrency, strength, tags }`; checked by cadre/models. */
  models: z.array(z.unknown()).optional(),
  /** Routing rules, cascades and the fallback/resilience settings; checked by cadre/models. */
  routing: z.record(z.string(), z.unknown()).optional(),
  /** How long probed model capabilities stay cached. */
  probeTtlMs: z.coerce
    .number()
    .int()
    .positive()
    .default(24 * 3600_000),
  /** MCP servers in the `mcpServers` format of desktop AI clients; checked by cadre/tools when used. */
  mcpServers: z.record(z.string(), z.unknown()).optional(),
  /** Tool policy (allow/deny, approvals, rate limits); checked by cadre/tools when used. */
  toolPolicy: z.record(z.string(), z.unknown()).optional(),
  /** How long provider detection waits for an answer. */
  detectTimeoutMs: z.coerce.number().int().positive().default(800),
});

export type CadreConfig = z.infer<typeof ConfigSchema>;
/** Config as code passes it: every field optional, with the type it has once loaded. */
export type CadreConfigInput = { [K in keyof CadreConfig]?: CadreConfig[K] | undefined };

const configKeys = Object.keys(ConfigSchema.shape);

/** Environment variables that are not `CADRE_*` but that users already have set. */
const wellKnownEnv: Record<string, keyof CadreConfig> = {
  OLLAMA_HOST: 'ollamaHost',
  OPENAI_API_KEY: 'openaiApiKey',
  OPENAI_BASE_URL: 'openaiBaseUrl',
  ANTHROPIC_API_KEY: 'anthropicApiKey',
  ANTHROPIC_BASE_URL: 'anthropicBaseUrl',
};

const fieldToEnv = (field: string) => `CADRE_${field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** Reads config-relevant variables out of an environment, remembering which variable set each field. */
function fromEnv(env: NodeJS.ProcessEnv): { values: Record<string, string>; sources: Record<string, string> } {
  const values: Record<string, string> = {};
  const sources: Record<string, string> = {};
  for (const [name, field] of Object.entries(wellKnownEnv)) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      values[field] = field === 'ollamaHost' && !/^https?:\/\//.test(value) ? `http://${value}` : value;
      sources[field] = name;
    }
  }
  for (const field of Object.keys(ConfigSchema.shape)) {
    const name = fieldToEnv(field);
    const value = env[name];
    if (value !== undefined && value !== '') {
      values[field] = value;
      sources[field] = name;
    }
  }
  return { values, sources };
}

/**
 * The config file: `CADRE_CONFIG`, else `cadre.config.json` in the working folder when it exists.
 * An unreadable file, bad JSON or an unknown field is `config_invalid` naming the file.
 */
function fromFile(env: NodeJS.ProcessEnv): { values: Record<string, unknown>; path?: string } {
  const path = env.CADRE_CONFIG ?? join(process.cwd(), 'cadre.config.json');
  if (!env.CADRE_CONFIG && !existsSync(path)) return { values: {} };
  let values: unknown;
  try {
    values = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CadreError('config_invalid', `Cannot read the config file ${path}: ${(error as Error).message}`, {
      details: { path },
    });
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values))
    throw new CadreError('config_invalid', `The config file ${path} must hold a JSON object`);
  const unknown = Object.keys(values).filter((key) => !configKeys.includes(key) && key !== '$schema');
  if (unknown.length)
    throw new CadreError(
      'config_invalid',
      `Unknown field${unknown.length > 1 ? 's' : ''} in ${path}: ${unknown.join(', ')}`,
      { details: { path, unknown } },
    );
  return { values: values as Record<string, unknown>, path };
}

/**
 * Builds the config from defaults, then the config file, then environment variables, then explicit
 * options (highest). Throws `config_invalid` naming every bad field and where its value came from.
 */
export function loadConfig(options: CadreConfigInput = {}, env: NodeJS.ProcessEnv = process.env): CadreConfig {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new CadreError('config_invalid', '`config` must be an object');
  // A misspelt field would otherwise be dropped in silence, and with it, say, a cost cap.
  rejectUnknownKeys(options, configKeys, 'config field', 'config_invalid');
  const file = fromFile(env);
  const { values, sources } = fromEnv(env);
  for (const key of Object.keys(file.values)) if (!(key in sources)) sources[key] = file.path!;
  const explicit = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const parsed = ConfigSchema.safeParse({ ...file.values, ...values, ...explicit });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const field = String(issue.path[0] ?? '(root)');
    const source = field in explicit ? 'option' : sources[field];
    return { field, source, message: issue.message };
  });
  const text = problems.map((p) => `${p.field}${p.source ? ` (from ${p.source})` : ''}: ${p.message}`).join('; ');
  throw new CadreError('config_invalid', `Invalid config: ${text}`, { details: { problems } });
}
