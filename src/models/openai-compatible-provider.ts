import { ChatOpenAI } from '@langchain/openai';
import type { ChatModelOptions, ModelProvider } from './provider.js';
import { getJson } from './http-json.js';

/** The server's URL, key and extra headers, and whether it runs in the cloud or locally. */
export interface OpenAICompatibleProviderOptions {
  /** Default `https://api.openai.com/v1`; for vLLM, llama.cpp, TGI, LocalAI or LM Studio, their `/v1` URL. */
  baseURL?: string;
  apiKey?: string;
  /** `openai` for the OpenAI API, `local` for a server on your own hardware. Default `openai`. */
  kind?: 'openai' | 'local';
  headers?: Record<string, string>;
}

/** Any server that speaks OpenAI chat completions, through @langchain/openai. */
export function createOpenAICompatibleProvider(options: OpenAICompatibleProviderOptions = {}): ModelProvider {
  const kind = options.kind ?? 'openai';
  const baseURL = (options.baseURL ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  // Local servers usually ignore the key, but the client insists on one.
  const apiKey = options.apiKey ?? (kind === 'local' ? 'not-needed' : undefined);
  const authHeaders: Record<string, string> = {
    ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    ...options.headers,
  };
  return {
    kind,
    location: kind === 'local' ? 'local' : 'cloud',
    baseURL,
    chatModel: (model: string, chat: ChatModelOptions = {}) =>
      new ChatOpenAI({
        model,
        apiKey,
        temperature: chat.temperature,
        maxTokens: chat.maxTokens,
        maxRetries: 0, // retries happen once, in invokeModel
        streamUsage: true,
        configuration: { baseURL, ...(options.headers ? { defaultHeaders: options.headers } : {}) },
      }),
    listModels: async ({ signal, timeoutMs } = {}) => {
      const body = (await getJson(`${baseURL}/models`, { timeoutMs, signal, headers: authHeaders })) as {
        data?: { id: string }[];
      };
      return (body.data ?? []).map((m) => m.id);
    },
  };
}
