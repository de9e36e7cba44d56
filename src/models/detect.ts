import type { CadreConfig, ProviderKind } from '../core/index.js';
import type { ModelProvider } from './provider.js';

/** What detection found for one configured provider. */
export interface DetectedProvider {
  kind: ProviderKind;
  baseURL: string;
  reachable: boolean;
  models: string[];
  error?: string;
  provider: ModelProvider;
}

/** Builds the providers the config names. Provider modules load lazily, keeping the root import light. */
export async function configuredProviders(config: CadreConfig): Promise<ModelProvider[]> {
  const providers: ModelProvider[] = [];
  for (const kind of config.modelOrder) {
    if (kind === 'ollama') {
      const { createOllamaProvider } = await import('./ollama-provider.js');
      providers.push(createOllamaProvider({ baseURL: config.ollamaHost }));
    } else if (kind === 'local' && config.localBaseUrl) {
      const { createOpenAICompatibleProvider } = await import('./openai-compatible-provider.js');
      providers.push(
        createOpenAICompatibleProvider({ kind: 'local', baseURL: config.localBaseUrl, apiKey: config.localApiKey }),
      );
    } else if (kind === 'openai' && (config.openaiApiKey || config.openaiBaseUrl)) {
      const { createOpenAICompatibleProvider } = await import('./openai-compatible-provider.js');
      providers.push(
        createOpenAICompatibleProvider({ kind: 'openai', baseURL: config.openaiBaseUrl, apiKey: config.openaiApiKey }),
      );
    } else if (kind === 'anthropic' && config.anthropicApiKey) {
      const { createAnthropicProvider } = await import('./anthropic-provider.js');
      providers.push(createAnthropicProvider({ apiKey: config.anthropicApiKey, baseURL: config.anthropicBaseUrl }));
    }
  }
  return providers;
}

/** Asks every configured provider for its models, in parallel, each within `timeoutMs`. */
export async function detectProviders(
  config: CadreConfig,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<DetectedProvider[]> {
  const providers = await configuredProviders(config);
  return Promise.all(
    providers.map(async (provider) => {
      const base = { kind: provider.kind, baseURL: provider.baseURL, provider };
      try {
        const models = await provider.listModels({
          timeoutMs: options.timeoutMs ?? config.detectTimeoutMs,
          signal: options.signal,
        });
        return { ...base, reachable: true, models };
      } catch (error) {
        return { ...base, reachable: false, models: [], error: (error as Error).message };
      }
    }),
  );
}
