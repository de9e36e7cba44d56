import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CadreError } from './errors.js';
import { rejectUnknownKeys } from './unknown-keys.js';

/** A comma-separated string (as environment variables give lists) split into its trimmed items. */
export const csv = (value: unknown): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : value;

/** The model providers cadre detects, in its default order of preference. */
export const providerKinds = ['ollama', 'local', 'openai', 'anthropic'] as const;
/** One of `providerKinds`. */
export type ProviderKind = (typeof providerKinds)[number];

/** cadre's configuration. Every field has a default or is optional; `CADRE_*` variables override. */
export const ConfigSchema = z.object({
  /** Most model calls one run may make. */
  maxSteps: z.coerce
    .number()
    .int()
    .positive()
    .default(20)
    .describe('Most model calls one run may make, over all its tasks.'),
  maxTokens: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe('Most tokens (input and output) one run may use; unset: unlimited.'),
  maxCostUsd: z.coerce
    .number()
    .nonnegative()
    .optional()
    .describe(
      'Most US dollars one run may spend on models; each call is reserved before it is made. Unset: unlimited.',
    ),
  maxWallTimeMs: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe('Longest one run may take, in ms; unset: unlimited.'),
  toolTimeoutMs: z.coerce
    .number()
    .int()
    .positive()
    .default(30_000)
    .describe('Per-call limit for tools that set no `timeoutMs` of their own, in ms.'),
  toolOutputMaxChars: z.coerce
    .number()
    .int()
    .positive()
    .default(16_000)
    .describe('Longest tool output passed to the model; the rest is cut with a visible marker.'),
  /** Where runs, journals and memory are stored. */
  dataDir: z.string().min(1).default('.cadre').describe('Folder for runs, journals, memory and caches.'),
  /** cadre's SQLite database (checkpoints, events, journals, runs); default `<dataDir>/cadre.db`; `:memory:` keeps nothing. */
  databasePath: z
    .string()
    .min(1)
    .optional()
    .describe(
      'The SQLite database of checkpoints, events, journals and runs; unset: `<dataDir>/cadre.db`; `:memory:` keeps nothing.',
    ),
  /** `normal`: survives a killed process; `full`: also a power cut, slower. */
  durability: z
    .enum(['normal', 'full'])
    .default('normal')
    .describe('`normal` survives a killed process (kill -9); `full` also survives a power cut, and is slower.'),
  /** Tasks of one run that may work at the same time. */
  concurrency: z.coerce
    .number()
    .int()
    .positive()
    .max(256)
    .default(4)
    .describe('Tasks of one run that may work at the same time.'),
  /**
   * Runs of one process that execute at the same time; more wait their turn. Between model calls a
   * run is CPU work (LangGraph, SQLite): when many runs have little to wait for, a lower cap keeps
   * the event loop responsive (see bench/README.md); runs that wait on models want a high one.
   */
  maxActiveRuns: z.coerce
    .number()
    .int()
    .positive()
    .max(100_000)
    .default(256)
    .describe('Runs of one process that execute at the same time; more wait their turn.'),
  /** What a run does when a task fails after its retries. */
  failurePolicy: z
    .enum(['replan', 'retry', 'reflect', 'continue', 'fail-fast'])
    .default('replan')
    .describe(
      'What a run does when a task fails: `replan` retries, then rewrites the failed task and what depends on it; `retry`; `reflect` writes a lesson before each retry; `continue` skips what depends on the failure; `fail-fast` stops.',
    ),
  /** Extra attempts for a failed task (policies retry, reflect, replan). */
  maxRetries: z.coerce
    .number()
    .int()
    .nonnegative()
    .max(10)
    .default(1)
    .describe('Extra attempts for a failed task (policies `retry`, `reflect`, `replan`).'),
  /** Plan revisions one run may make. */
  maxReplans: z.coerce.number().int().nonnegative().max(10).default(2).describe('Plan revisions one run may make.'),
  /** With memory, have a model extract facts from each task's result into the knowledge graph (one call per task). */
  learnFacts: z
    .preprocess((v) => (typeof v === 'string' ? ['1', 'true', 'yes', 'on'].includes(v.toLowerCase()) : v), z.boolean())
    .default(false)
    .describe(
      'With memory, a model extracts facts from each task result into the knowledge graph (one call per task, on the run budget).',
    ),
  /** The memory tenant runs read and write (memory under `<dataDir>/memory`). */
  memoryTenant: z
    .string()
    .regex(/^[A-Za-z0-9_.:@-]{1,128}$/, '1-128 letters, digits or _ . : @ -')
    .default('default')
    .describe(
      'The memory tenant runs read and write, and the CLI memory scope (memory lives under `<dataDir>/memory`).',
    ),
  /** Root folder the built-in file tools may touch. */
  workspaceDir: z
    .string()
    .min(1)
    .default('.')
    .describe('Root folder of the built-in file tools; they refuse any path outside it.'),
  /** Hosts the http_fetch tool may reach. */
  httpAllowedHosts: z
    .preprocess(csv, z.array(z.string().min(1)))
    .default([])
    .describe('Hosts the `http_fetch` tool may reach; none by default.'),
  logLevel: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('warn')
    .describe('Log level of the pino logger (JSON lines on stderr).'),
  /** An explicit model, as `provider:model` (e.g. `ollama:llama3.1`, `openai:gpt-4o-mini`). */
  model: z
    .string()
    .regex(/^(ollama|local|openai|anthropic):.+$/, 'expected provider:model, e.g. ollama:llama3.1')
    .optional()
    .describe(
      'One model as `provider:model` (e.g. `ollama:llama3.1`, `openai:gpt-4o-mini`); unset: detected, or the `models` pool.',
    ),
  /** The order in which reachable providers are preferred. */
  modelOrder: z
    .preprocess(csv, z.array(z.enum(providerKinds)).min(1))
    .default(['ollama', 'local', 'openai', 'anthropic'])
    .describe('The order in which reachable providers are preferred when no model or pool is given.'),
  ollamaHost: z
    .string()
    .url()
    .default('http://127.0.0.1:11434')
    .describe('The Ollama server; `OLLAMA_HOST` may leave out `http://`.'),
  localBaseUrl: z
    .string()
    .url()
    .optional()
    .describe('The `/v1` URL of a local OpenAI-compatible server (vLLM, llama.cpp, TGI, LocalAI, LM Studio).'),
  localApiKey: z.string().optional().describe('API key for `localBaseUrl`, when that server wants one.'),
  openaiApiKey: z.string().min(1).optional().describe('OpenAI API key.'),
  openaiBaseUrl: z
    .string()
    .url()
    .optional()
    .describe('Base URL of the OpenAI API or an OpenAI-compatible cloud endpoint.'),
  anthropicApiKey: z.string().min(1).optional().describe('Anthropic API key.'),
  webhookSecret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{24,}={0,2}$/, 'a Standard Webhooks secret: whsec_ and at least 18 bytes in base64')
    .optional()
    .describe('The secret that signs job webhooks (Standard Webhooks, HMAC-SHA256): `whsec_` and base64.'),
  webhookHosts: z
    .preprocess(csv, z.array(z.string().min(1)))
    .default([])
    .describe('Hosts (`host` or `host:port`) job webhooks may be sent to; none by default.'),
  /** Which job queue `openJobQueue` opens; unset: BullMQ when `redisUrl` or `databaseUrl` is set, else the embedded one. */
  jobQueue: z
    .enum(['sqlite', 'bullmq'])
    .optional()
    .describe(
      "The job queue of `cadre jobs`, `cadre worker`, `cadre serve` and `cadre/jobs`: `sqlite` (embedded, in the database) or `bullmq` (on `redisUrl`, else on `databaseUrl` through BullMQ's PostgreSQL backend). Unset: `bullmq` when `redisUrl` or `databaseUrl` is set, else `sqlite`.",
    ),
  redisUrl: z
    .url({ protocol: /^rediss?$/, hostname: /./, error: 'a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379' })
    .optional()
    .describe('The Redis server of the BullMQ job queue (`redis://` or `rediss://`); setting it picks that queue.'),
  jobQueuePrefix: z
    .string()
    .regex(/^[A-Za-z0-9][\w.-]{0,63}$/, 'a name of letters, digits, _ . - (at most 64)')
    .default('cadre')
    .describe(
      "Prefix of the BullMQ job queue's keys; two prefixes on one server are two separate queues (on PostgreSQL, BullMQ's tables go in the schema `<databaseSchema>_bullmq_<prefix>`, `-` and `.` as `_`).",
    ),
  databaseUrl: z
    .url({
      protocol: /^postgres(ql)?$/,
      hostname: /./,
      error: 'a postgres:// or postgresql:// URL, e.g. postgres://127.0.0.1:5432/cadre',
    })
    .optional()
    .describe(
      'The PostgreSQL database of the PostgreSQL run store (`postgres://` or `postgresql://`); setting it keeps runs there (see `runStore`), and `cadre db migrate` creates and updates its tables.',
    ),
  databaseSchema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case PostgreSQL name: a-z, 0-9 and _, not starting with a digit')
    .optional()
    .describe(
      "A schema of its own for cadre's tables in `databaseUrl`, created when missing; unset: the server's search_path.",
    ),
  /** Where runs are kept and carried out from; unset: PostgreSQL when `databaseUrl` is set, else the embedded file. */
  runStore: z
    .enum(['sqlite', 'postgres'])
    .optional()
    .describe(
      'Where runs, their events, journals and checkpoints are kept: `sqlite` (the embedded file, `databasePath`) or `postgres` (`databaseUrl`). Unset: `postgres` when `databaseUrl` is set, else `sqlite`.',
    ),
  anthropicBaseUrl: z.string().url().optional().describe('Base URL of the Anthropic API, for a proxy or gateway.'),
  /** The model pool: entries `{ provider, model, location, capabilities, price, concurrency, strength, tags }`; checked by cadre/models. */
  models: z
    .array(z.unknown())
    .optional()
    .describe(
      'The model pool: entries `{ provider, model, location, capabilities, price, concurrency, strength, tags, timeoutMs, maxOutputTokens }`; unset: the first model of every provider that answers. See docs/providers.md.',
    ),
  /** Routing rules, cascades and the fallback/resilience settings; checked by cadre/models. */
  routing: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('Routing rules, cascades, breaker and spill settings for the pool. See docs/providers.md.'),
  /** How long probed model capabilities stay cached. */
  probeTtlMs: z.coerce
    .number()
    .int()
    .positive()
    .default(24 * 3600_000)
    .describe('How long probed model capabilities stay cached, in ms (a day).'),
  /** MCP servers in the `mcpServers` format of desktop AI clients; checked by cadre/tools when used. */
  mcpServers: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      'MCP servers in the `mcpServers` format of desktop AI clients, plus `effects`, `idempotent` and `timeoutMs` per server. See docs/tools.md.',
    ),
  /** Tool policy (allow/deny, approvals, rate limits, argument rules); checked by cadre/tools when used. */
  toolPolicy: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      'Tool policy: `allow`/`deny` globs (global, per role, per agent), `approval`, `rateLimits`, `arguments` rules. See docs/tools.md.',
    ),
  /** How long provider detection waits for an answer. */
  detectTimeoutMs: z.coerce
    .number()
    .int()
    .positive()
    .default(800)
    .describe('How long provider detection waits for each server to answer, in ms.'),
});

/** cadre's configuration once loaded: every field with its value or default. */
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
/** Each field with its `CADRE_*` variable, worked out once: config is loaded once per run. */
const envNames = configKeys.map((field) => [field, fieldToEnv(field)] as const);

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
  for (const [field, name] of envNames) {
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
 * A config this function returned is given back as it is.
 */
export function loadConfig(options: CadreConfigInput = {}, env: NodeJS.ProcessEnv = process.env): CadreConfig {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new CadreError('config_invalid', '`config` must be an object');
  // A config made here already holds what the file and environment said: it is not read again.
  if (env === process.env && loadedConfigs.has(options)) return options as CadreConfig;
  // A misspelt field would otherwise be dropped in silence, and with it, say, a cost cap.
  rejectUnknownKeys(options, configKeys, 'config field', 'config_invalid');
  const file = fromFile(env);
  const { values, sources } = fromEnv(env);
  for (const key of Object.keys(file.values)) if (!(key in sources)) sources[key] = file.path!;
  const explicit = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const input = { ...file.values, ...values, ...explicit };
  const key = cacheKey(input);
  const cached = key === undefined ? undefined : parsedConfigs.get(key);
  if (cached) return cached;
  const parsed = ConfigSchema.safeParse(input);
  if (parsed.success) {
    if (key !== undefined) {
      if (parsedConfigs.size >= 32) parsedConfigs.clear();
      const frozen = Object.freeze(parsed.data);
      parsedConfigs.set(key, frozen);
      loadedConfigs.add(frozen);
      return frozen;
    }
    return parsed.data;
  }
  const problems = parsed.error.issues.map((issue) => {
    const field = String(issue.path[0] ?? '(root)');
    const source = field in explicit ? 'option' : sources[field];
    return { field, source, message: issue.message };
  });
  const text = problems.map((p) => `${p.field}${p.source ? ` (from ${p.source})` : ''}: ${p.message}`).join('; ');
  throw new CadreError('config_invalid', `Invalid config: ${text}`, { details: { problems } });
}

// A program that starts many runs loads the same config each time: the file and environment are
// read again (they may change), but the same input is validated once. Frozen, as it is shared.
const parsedConfigs = new Map<string, CadreConfig>();
/** Configs this module returned, frozen: given back to {@link loadConfig}, each is returned as it is. */
const loadedConfigs = new WeakSet<object>();

/** The input as a cache key, or undefined when it holds what JSON cannot tell apart (a function, NaN). */
function cacheKey(input: Record<string, unknown>): string | undefined {
  let plain = true;
  const key = JSON.stringify(input, (_, value: unknown) => {
    const kind = typeof value;
    if (kind === 'function' || kind === 'symbol' || kind === 'bigint') plain = false;
    // NaN and Infinity become null in JSON, yet validate differently.
    if (kind === 'number' && !Number.isFinite(value)) plain = false;
    return typeof value === 'bigint' ? String(value) : value;
  });
  return plain ? key : undefined;
}
