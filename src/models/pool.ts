import { z } from 'zod';
import { CadreError, providerKinds, type ProviderKind } from '../core/index.js';
import { formatModelRef, locationOf, type ModelRef } from './model-ref.js';
import { defaultPrices, type Price } from './pricing.js';

/** What a model can do. Left out means not known yet (probing fills it in). */
export interface ModelCapabilities {
  /** Native tool (function) calling. */
  tools?: boolean;
  /** JSON mode or structured output. */
  json?: boolean;
  vision?: boolean;
  /** Tokens the model takes in at once. */
  contextWindow?: number;
}

/** Checks {@link ModelCapabilities} as written in the config or read back from the probe cache. */
export const CapabilitiesSchema = z
  .object({
    tools: z.boolean().optional(),
    json: z.boolean().optional(),
    vision: z.boolean().optional(),
    contextWindow: z.number().int().positive().optional(),
  })
  .strict();

/** One model of the pool, as users write it in `cadre.config.json` (`models`) or in code. */
export const ModelEntrySchema = z
  .object({
    /** Name rules and cascades refer to; default `provider:model`. */
    id: z.string().min(1).optional(),
    provider: z.enum(providerKinds),
    model: z.string().min(1),
    /** The server, when not the provider's configured one (a second Ollama host, a vLLM box). */
    baseUrl: z.string().url().optional(),
    /** Default: `local` for ollama and local servers, `cloud` for openai and anthropic. */
    location: z.enum(['local', 'cloud']).optional(),
    capabilities: CapabilitiesSchema.default({}),
    /** US dollars per million tokens; default the price table (cloud) or 0 (local). */
    price: z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() }).strict().optional(),
    /** Calls cadre sends this model at once; more wait in its queue. */
    concurrency: z.number().int().positive().max(1024).default(4),
    /** How good the model is, 1 (small) to 10 (frontier); `prefer: "strongest"` orders by it. */
    strength: z.number().min(1).max(10).default(5),
    /** Free labels rules can match, e.g. `small`, `gpu0`, `coder`. */
    tags: z.array(z.string().min(1)).default([]),
    /** Longest one call may take before it counts as failed (and falls back). */
    timeoutMs: z.number().int().positive().optional(),
    /** Cap on output tokens per call; makes each call's cost known before it is made. */
    maxOutputTokens: z.number().int().positive().optional(),
  })
  .strict();

/** A pool entry as written, before defaults are filled in. */
export type ModelEntryInput = z.input<typeof ModelEntrySchema>;

/** A pool entry with every default filled in. */
export interface PoolModel {
  id: string;
  ref: ModelRef;
  capabilities: ModelCapabilities;
  price: Price;
  /** False for a cloud model with no price given and none in the table. */
  priced: boolean;
  /** Calls cadre sends the model at once. */
  concurrency: number;
  /** 1 (small) to 10 (frontier); `prefer: "strongest"` orders by it. */
  strength: number;
  /** Labels routing rules match. */
  tags: string[];
  /** The server, when not the provider's configured one. */
  baseUrl?: string;
  /** Longest one call may take before it counts as failed. */
  timeoutMs?: number;
  /** Cap on output tokens per call. */
  maxOutputTokens?: number;
}

function tablePrice(model: string): Price | undefined {
  const key = Object.keys(defaultPrices)
    .filter((prefix) => model.startsWith(prefix))
    .sort((a, b) => b.length - a.length)[0];
  return key ? defaultPrices[key] : undefined;
}

/** Capabilities cloud APIs are known to have; local ones are left to probing. */
export function knownCapabilities(provider: ProviderKind): ModelCapabilities {
  return provider === 'openai' || provider === 'anthropic' ? { tools: true, json: true } : {};
}

/** Fills in the defaults of one entry (already checked by `ModelEntrySchema`). */
export function toPoolModel(entry: z.output<typeof ModelEntrySchema>): PoolModel {
  const location = entry.location ?? locationOf(entry.provider);
  const ref: ModelRef = { provider: entry.provider, model: entry.model, location };
  const listed = location === 'local' ? { input: 0, output: 0 } : tablePrice(entry.model);
  return {
    id: entry.id ?? formatModelRef(ref),
    ref,
    capabilities: { ...knownCapabilities(entry.provider), ...entry.capabilities },
    price: entry.price ?? listed ?? { input: 0, output: 0 },
    priced: entry.price !== undefined || listed !== undefined,
    concurrency: entry.concurrency,
    strength: entry.strength,
    tags: entry.tags,
    ...(entry.baseUrl !== undefined ? { baseUrl: entry.baseUrl } : {}),
    ...(entry.timeoutMs !== undefined ? { timeoutMs: entry.timeoutMs } : {}),
    ...(entry.maxOutputTokens !== undefined ? { maxOutputTokens: entry.maxOutputTokens } : {}),
  };
}

/** One pool entry from its written form; `config_invalid` names the bad field. */
export function poolModel(input: ModelEntryInput, where = 'model'): PoolModel {
  const parsed = ModelEntrySchema.safeParse(input);
  if (parsed.success) return toPoolModel(parsed.data);
  const text = parsed.error.issues
    .map((i) => `${where}${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`)
    .join('; ');
  throw new CadreError('config_invalid', `Invalid model pool entry: ${text}`, {
    kind: 'user',
    details: { issues: parsed.error.issues },
  });
}

/** The pool from `models` in the config, every entry checked (the router checks ids are unique). */
export function parseModelPool(entries: readonly unknown[]): PoolModel[] {
  return entries.map((entry, i) => poolModel(entry as ModelEntryInput, `models[${i}]`));
}
