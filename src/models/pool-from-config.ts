import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { CadreError, type CadreConfig, type ProviderKind } from '../core/index.js';
import type { CapabilityCache } from './capability-cache.js';
import { configuredProviders, detectProviders } from './detect.js';
import { locationOf, parseModelRef } from './model-ref.js';
import { parseModelPool, poolModel, type PoolModel } from './pool.js';
import { probeModel, withProbedCapabilities } from './probe.js';
import type { ModelProvider } from './provider.js';

/** A pool model with the provider that serves it and its chat model. */
export interface ServedModel {
  model: PoolModel;
  provider: ModelProvider;
  chat: BaseChatModel;
}

/** How long provider detection may take, and where probed capabilities are cached. */
export interface PoolFromConfigOptions {
  /** Per provider when detecting their models. Default `detectTimeoutMs` from the config. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Where probed capabilities are kept between runs (cadre's SQLite database). */
  cache?: CapabilityCache;
}

const missing: Record<ProviderKind, string> = {
  ollama: 'start Ollama or set OLLAMA_HOST',
  local: 'set CADRE_LOCAL_BASE_URL or give the entry a baseUrl',
  openai: 'set OPENAI_API_KEY or OPENAI_BASE_URL',
  anthropic: 'set ANTHROPIC_API_KEY',
};

/** The provider for one entry: its own `baseUrl` when it has one, else the configured provider of its kind. */
export async function providerForModel(
  model: PoolModel,
  config: CadreConfig,
  configured: ModelProvider[],
): Promise<ModelProvider> {
  const kind = model.ref.provider;
  if (model.baseUrl) {
    if (kind === 'ollama')
      return (await import('./ollama-provider.js')).createOllamaProvider({ baseURL: model.baseUrl });
    if (kind === 'anthropic')
      return (await import('./anthropic-provider.js')).createAnthropicProvider({
        baseURL: model.baseUrl,
        apiKey: config.anthropicApiKey,
      });
    const apiKey = kind === 'local' ? config.localApiKey : config.openaiApiKey;
    return (await import('./openai-compatible-provider.js')).createOpenAICompatibleProvider({
      kind,
      baseURL: model.baseUrl,
      ...(apiKey ? { apiKey } : {}),
    });
  }
  const provider = configured.find((p) => p.kind === kind);
  if (!provider)
    throw new CadreError('config_invalid', `Pool model ${model.id} needs the ${kind} provider: ${missing[kind]}`, {
      kind: 'user',
    });
  return provider;
}

/** `models` from the config, each with the provider that serves it; `config_invalid` when one has none. */
export async function configuredPool(config: CadreConfig): Promise<Array<Omit<ServedModel, 'chat'>>> {
  const configured = await configuredProviders(config);
  return Promise.all(
    parseModelPool(config.models ?? []).map(async (model) => ({
      model,
      provider: await providerForModel(model, config, configured),
    })),
  );
}

/**
 * The model pool a run routes over: `models` from the config, or else the first model of every
 * reachable provider (`config.model` narrows either to that one model). Local models whose
 * capabilities the config leaves open are probed (Ollama `/api/show`, `/v1/models`), through the
 * cache; a probe that fails leaves them unknown, which the router treats as absent.
 */
export async function poolFromConfig(config: CadreConfig, options: PoolFromConfigOptions = {}): Promise<ServedModel[]> {
  let served: Array<Omit<ServedModel, 'chat'>>;
  if (config.models?.length) {
    served = await configuredPool(config);
  } else {
    const explicit = config.model ? parseModelRef(config.model) : undefined;
    const found = await detectProviders(config, options);
    served = found.flatMap((p) => {
      const name = explicit?.provider === p.kind ? explicit.model : p.models[0];
      return p.reachable && name
        ? [{ model: poolModel({ provider: p.kind, model: name, location: locationOf(p.kind) }), provider: p.provider }]
        : [];
    });
    if (served.length === 0) {
      const checked = found.map(
        (p) => `${p.kind} at ${p.baseURL}: ${p.reachable ? 'no models' : (p.error ?? 'no answer')}`,
      );
      const unset = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'CADRE_LOCAL_BASE_URL'].filter(
        (name) => !process.env[name],
      );
      const text = [...checked, ...(unset.length ? [`not set: ${unset.join(', ')}`] : [])].join('; ');
      throw new CadreError('model_unavailable', `no model reachable: ${text}`, {
        details: { checked: found.map(({ provider: _p, ...rest }) => rest) },
      });
    }
  }
  if (config.model) {
    const want = parseModelRef(config.model);
    const only = served.filter((s) => s.model.ref.provider === want.provider && s.model.ref.model === want.model);
    if (only.length === 0) {
      const have = served.map((s) => s.model.id).join(', ') || 'none';
      throw new CadreError('model_unavailable', `Model ${config.model} is not available (available: ${have})`, {
        kind: 'user',
      });
    }
    served = only;
  }
  const apiKey = config.localApiKey;
  const probed = await Promise.all(
    served.map(async (s) => ({
      ...s,
      model: await withCapabilities(s.model, s.provider, { ...options, ...(apiKey ? { apiKey } : {}) }),
    })),
  );
  return probed.map((s, i) => {
    // The window configured, not probed: a probe reports the longest the model was trained for,
    // which a server asked to hold it (Ollama's num_ctx) may not have the memory for.
    const window = served[i]!.model.capabilities.contextWindow;
    return {
      ...s,
      chat: s.provider.chatModel(s.model.ref.model, {
        ...(s.model.maxOutputTokens ? { maxTokens: s.model.maxOutputTokens } : {}),
        ...(window ? { contextWindow: window } : {}),
      }),
    };
  });
}

/** Fills in what a local model can do from a probe (or the cache); config values win. */
async function withCapabilities(
  model: PoolModel,
  provider: ModelProvider,
  options: PoolFromConfigOptions & { apiKey?: string },
): Promise<PoolModel> {
  const known = model.capabilities;
  if (model.ref.location !== 'local' || (known.tools !== undefined && known.contextWindow !== undefined)) return model;
  try {
    const { cache, apiKey, timeoutMs, signal } = options;
    const result = await probeModel(model, {
      baseURL: provider.baseURL,
      ...(cache ? { cache } : {}),
      ...(apiKey ? { apiKey } : {}),
      timeoutMs,
      signal,
    });
    return withProbedCapabilities(model, result.capabilities);
  } catch {
    return model;
  }
}
