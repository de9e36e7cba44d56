import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { HumanMessage, type AIMessage, type BaseMessage } from '@langchain/core/messages';
import { CadreError, cancelledError } from '../core/index.js';
import type { CapabilityCache, ProbeResult } from './capability-cache.js';
import { getJson, postJson } from './http-json.js';
import { toModelError } from './model-errors.js';
import { knownCapabilities, type ModelCapabilities, type PoolModel } from './pool.js';

/** Headers, time limit and cancellation for a probe's HTTP requests. */
export interface ProbeHttpOptions {
  headers?: Record<string, string>;
  /** Longest one request may take; default 2000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const trim = (url: string) => url.replace(/\/+$/, '');
const definedOnly = (c: ModelCapabilities): ModelCapabilities =>
  Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as ModelCapabilities;

/** Asks Ollama's `/api/show` what a pulled model can do; `model_unavailable` when it is not pulled. */
export async function probeOllamaModel(
  options: ProbeHttpOptions & { baseURL: string; model: string; now?: () => number },
): Promise<ProbeResult> {
  let body: { capabilities?: unknown; model_info?: Record<string, unknown> };
  try {
    body = (await postJson(`${trim(options.baseURL)}/api/show`, { model: options.model }, options)) as typeof body;
  } catch (error) {
    if (CadreError.isInstance(error) && error.details.status === 404) {
      throw new CadreError(
        'model_unavailable',
        `Ollama at ${options.baseURL} has no model ${options.model} (pull it first)`,
        { cause: error, details: { model: options.model } },
      );
    }
    throw error;
  }
  // Ollama before 0.6.4 sends no capabilities: tools and vision then stay unknown.
  const listed = Array.isArray(body.capabilities) ? body.capabilities.map(String) : undefined;
  const info = body.model_info ?? {};
  const contextKey = Object.keys(info).find((key) => key.endsWith('.context_length'));
  const contextWindow = contextKey ? positive(info[contextKey]) : undefined;
  // Every Ollama model takes `format: "json"`, which constrains decoding to JSON.
  const capabilities: ModelCapabilities = { json: true };
  if (listed) Object.assign(capabilities, { tools: listed.includes('tools'), vision: listed.includes('vision') });
  if (contextWindow) capabilities.contextWindow = contextWindow;
  return { capabilities, source: 'ollama', probedAt: (options.now ?? Date.now)() };
}

interface ListedModel {
  id?: unknown;
  max_model_len?: unknown;
  context_length?: unknown;
  context_window?: unknown;
  meta?: { n_ctx_train?: unknown };
  capabilities?: unknown;
}

/**
 * Reads an OpenAI-compatible server's `/models` and what each entry says about the model: the
 * context window (vLLM `max_model_len`, llama.cpp `meta.n_ctx_train`, others `context_length` or
 * `context_window`) and, from servers that list them, `capabilities` such as `['tools']`.
 */
export async function probeOpenAICompatibleModels(
  options: ProbeHttpOptions & { baseURL: string; apiKey?: string },
): Promise<Map<string, ModelCapabilities>> {
  const headers = { ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}), ...options.headers };
  const body = (await getJson(`${trim(options.baseURL)}/models`, { ...options, headers })) as { data?: ListedModel[] };
  const found = new Map<string, ModelCapabilities>();
  for (const entry of Array.isArray(body.data) ? body.data : []) {
    if (typeof entry.id !== 'string') continue;
    const contextWindow =
      positive(entry.max_model_len) ??
      positive(entry.meta?.n_ctx_train) ??
      positive(entry.context_length) ??
      positive(entry.context_window);
    const capabilities: ModelCapabilities = contextWindow ? { contextWindow } : {};
    if (Array.isArray(entry.capabilities)) {
      const listed = entry.capabilities.map(String);
      Object.assign(capabilities, {
        tools: listed.some((c) => ['tools', 'tool_use', 'function_calling'].includes(c)),
        json: listed.some((c) => ['json', 'json_mode', 'structured_output', 'response_format'].includes(c)),
        vision: listed.includes('vision'),
      });
    }
    found.set(entry.id, capabilities);
  }
  return found;
}

function positive(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

const pingTool = {
  type: 'function',
  function: {
    name: 'ping',
    description: 'Checks that tools work. Takes no arguments.',
    parameters: { type: 'object', properties: {}, required: [] },
  },
} as const;
const okSchema = { title: 'ok', type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
// Only these chat models have a JSON mode; others would silently use tool calling, or warn.
const jsonModeModels = new Set(['openai', 'ollama']);

/**
 * Checks with two tiny calls whether a model calls a bound tool and answers a JSON object when
 * asked. Token use stays small when the model was built with a small `maxTokens`.
 */
export async function liveProbe(options: {
  model: BaseChatModel;
  timeoutMs?: number;
  signal?: AbortSignal;
}): Promise<ModelCapabilities> {
  const { model } = options;
  const call = <T>(run: (signal: AbortSignal) => Promise<T>) => timed(run, options.timeoutMs ?? 30_000, options.signal);
  let tools = false;
  if (typeof model.bindTools === 'function') {
    const bound = model.bindTools([pingTool]);
    const ask = [new HumanMessage('Call the ping tool now. Do not answer with text.')];
    tools = await rejectedAsFalse(
      async () =>
        ((await call((signal) => bound.invoke(ask, { signal }))) as AIMessage).tool_calls?.some(
          (c) => c.name === 'ping',
        ) ?? false,
    );
  }
  const ask: BaseMessage[] = [new HumanMessage('Reply with exactly this JSON object and nothing else: {"ok": true}')];
  const json = await rejectedAsFalse(async () => {
    if (jsonModeModels.has(model._llmType())) {
      const structured = model.withStructuredOutput(okSchema, { method: 'jsonMode', includeRaw: true });
      const { raw, parsed } = await call((signal) => structured.invoke(ask, { signal }));
      return isOk(parsed) || isOk(parseJsonText(raw.content));
    }
    return isOk(parseJsonText((await call((signal) => model.invoke(ask, { signal }))).content));
  });
  return { tools, json };
}

/** A provider that refuses the request (HTTP 400, 422: e.g. "does not support tools") answers no. */
async function rejectedAsFalse(check: () => Promise<boolean>): Promise<boolean> {
  try {
    return await check();
  } catch (error) {
    const status = CadreError.isInstance(error) ? error.details.status : undefined;
    if (status === 400 || status === 422) return false;
    throw error;
  }
}

async function timed<T>(run: (signal: AbortSignal) => Promise<T>, timeoutMs: number, outer?: AbortSignal): Promise<T> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = outer ? AbortSignal.any([outer, timeout]) : timeout;
  try {
    return await run(signal);
  } catch (error) {
    if (outer?.aborted) throw cancelledError(outer);
    if (timeout.aborted)
      throw new CadreError('timeout', `The live probe got no answer within ${timeoutMs} ms`, { cause: error });
    throw toModelError(error);
  }
}

const isOk = (value: unknown) => typeof value === 'object' && value !== null && (value as { ok?: unknown }).ok === true;

function parseJsonText(content: unknown): unknown {
  const text =
    typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? content.map((p: { text?: unknown }) => (typeof p.text === 'string' ? p.text : '')).join('')
        : '';
  // Reasoning models may think aloud first, and many wrap JSON in a code fence.
  const bare = text
    .replace(/<think>[\s\S]*?<\/think>/g, '')
    .replace(/```(?:json)?/g, '')
    .trim();
  try {
    return JSON.parse(bare);
  } catch {
    return undefined;
  }
}

/** Where and how {@link probeModel} asks about a model, and the cache it keeps results in. */
export interface ProbeModelOptions extends ProbeHttpOptions {
  /** The provider's base URL (Ollama host, or the `/v1` URL of an OpenAI-compatible server). */
  baseURL: string;
  apiKey?: string;
  /** Also ask `chatModel` for one tool call and one JSON answer; its answers win over what the server lists. */
  live?: boolean;
  /** The model the live check calls. */
  chatModel?: BaseChatModel;
  cache?: CapabilityCache;
  /** Cached results older than this are probed again (on top of the cache's own TTL). */
  ttlMs?: number;
  /** The clock, in ms. Default `Date.now`. */
  now?: () => number;
  /** Longest each live check may take; default 30 s. */
  liveTimeoutMs?: number;
}

/**
 * Finds out what one pool model can do, by the means its provider offers, and caches the result
 * under `provider:model@baseURL`. A fresh cached result is returned without any request.
 */
export async function probeModel(
  model: PoolModel,
  options: ProbeModelOptions,
): Promise<ProbeResult & { cached: boolean }> {
  const now = options.now ?? Date.now;
  const { provider, model: name } = model.ref;
  const key = `${provider}:${name}@${trim(options.baseURL)}`;
  const hit = options.cache?.get(key);
  const fresh =
    hit &&
    (options.ttlMs === undefined || now() - hit.probedAt < options.ttlMs) &&
    (!options.live || hit.source === 'live');
  if (hit && fresh) return { ...hit, cached: true };

  let result: ProbeResult;
  if (provider === 'ollama') {
    result = await probeOllamaModel({ ...options, model: name, now });
  } else if (provider === 'anthropic') {
    result = { capabilities: knownCapabilities(provider), source: 'config', probedAt: now() };
  } else {
    const listed = await probeOpenAICompatibleModels(options);
    const found = listed.get(name);
    if (!found)
      throw new CadreError('model_unavailable', `${options.baseURL} does not list model ${name}`, {
        details: { provider, model: name },
      });
    result = {
      capabilities: { ...knownCapabilities(provider), ...definedOnly(found) },
      source: 'openai-models',
      probedAt: now(),
    };
  }
  if (options.live) {
    if (!options.chatModel) throw new CadreError('input_invalid', `A live probe of ${model.id} needs its chat model`);
    const live = await liveProbe({
      model: options.chatModel,
      timeoutMs: options.liveTimeoutMs,
      signal: options.signal,
    });
    result = { capabilities: { ...result.capabilities, ...definedOnly(live) }, source: 'live', probedAt: now() };
  }
  options.cache?.set(key, result);
  return { ...result, cached: false };
}

/** The model with probed capabilities filling in what its config leaves unknown; what the config states wins. */
export function withProbedCapabilities(model: PoolModel, probed: ModelCapabilities): PoolModel {
  return { ...model, capabilities: { ...definedOnly(probed), ...definedOnly(model.capabilities) } };
}
