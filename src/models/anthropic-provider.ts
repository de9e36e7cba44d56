import { ChatAnthropic } from '@langchain/anthropic';
import type { ChatModelOptions, ModelProvider } from './provider.js';
import { getJson } from './http-json.js';

/** The key and endpoint of Anthropic's API. */
export interface AnthropicProviderOptions {
  apiKey?: string;
  /** Default `https://api.anthropic.com`. */
  baseURL?: string;
}

/** Anthropic's Messages API, through @langchain/anthropic. */
export function createAnthropicProvider(options: AnthropicProviderOptions = {}): ModelProvider {
  const baseURL = (options.baseURL ?? 'https://api.anthropic.com').replace(/\/+$/, '');
  return {
    kind: 'anthropic',
    location: 'cloud',
    baseURL,
    chatModel: (model: string, chat: ChatModelOptions = {}) =>
      new ChatAnthropic({
        model,
        apiKey: options.apiKey,
        anthropicApiUrl: baseURL,
        temperature: chat.temperature,
        maxTokens: chat.maxTokens ?? 4096,
        maxRetries: 0, // retries happen once, in invokeModel
      }),
    listModels: async ({ signal, timeoutMs } = {}) => {
      const headers = { 'x-api-key': options.apiKey ?? '', 'anthropic-version': '2023-06-01' };
      const body = (await getJson(`${baseURL}/v1/models`, { timeoutMs, signal, headers })) as {
        data?: { id: string }[];
      };
      return (body.data ?? []).map((m) => m.id);
    },
  };
}
