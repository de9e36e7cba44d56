import { ChatOllama } from '@langchain/ollama';
import { Ollama } from 'ollama';
import type { ChatModelOptions, ModelProvider } from './provider.js';
import { getJson } from './http-json.js';

/** Where the Ollama server is, and headers to send it. */
export interface OllamaProviderOptions {
  /** Default `http://127.0.0.1:11434`. */
  baseURL?: string;
  headers?: Record<string, string>;
}

/** What `/api/show` says a model can do. */
export interface OllamaModelInfo {
  capabilities: string[];
  contextLength?: number;
  family?: string;
  parameterSize?: string;
}

/** A model loaded on the GPU/CPU right now, from `/api/ps`. */
export interface OllamaLoadedModel {
  name: string;
  sizeBytes: number;
  vramBytes: number;
  /** When Ollama unloads it unless it is used again. */
  expiresAt: Date;
}

/** A model provider for Ollama that can also say what a model can do and which models are loaded. */
export interface OllamaProvider extends ModelProvider {
  /** What `/api/show` says about a pulled model. */
  show(model: string): Promise<OllamaModelInfo>;
  /** The models loaded in memory now (`/api/ps`). */
  ps(): Promise<OllamaLoadedModel[]>;
}

/** Ollama: chat through @langchain/ollama, model listing and load through the `ollama` client. */
export function createOllamaProvider(options: OllamaProviderOptions = {}): OllamaProvider {
  const baseURL = (options.baseURL ?? 'http://127.0.0.1:11434').replace(/\/+$/, '');
  const client = new Ollama({ host: baseURL, ...(options.headers ? { headers: options.headers } : {}) });
  return {
    kind: 'ollama',
    location: 'local',
    baseURL,
    chatModel: (model: string, chat: ChatModelOptions = {}) =>
      new ChatOllama({
        model,
        baseUrl: baseURL,
        headers: options.headers,
        temperature: chat.temperature,
        numPredict: chat.maxTokens,
        ...(chat.contextWindow ? { numCtx: chat.contextWindow } : {}),
        maxRetries: 0,
      }),
    // The probe uses a plain timed GET: the ollama client has no timeout of its own.
    listModels: async ({ signal, timeoutMs } = {}) => {
      const body = (await getJson(`${baseURL}/api/tags`, { timeoutMs, signal, headers: options.headers })) as {
        models?: { name: string }[];
      };
      return (body.models ?? []).map((m) => m.name);
    },
    show: async (model) => {
      const info = await client.show({ model });
      const modelInfo =
        info.model_info instanceof Map
          ? Object.fromEntries(info.model_info)
          : ((info.model_info as Record<string, unknown> | undefined) ?? {});
      const contextKey = Object.keys(modelInfo).find((k) => k.endsWith('.context_length'));
      return {
        capabilities: info.capabilities ?? [],
        ...(contextKey ? { contextLength: Number(modelInfo[contextKey]) } : {}),
        ...(info.details?.family ? { family: info.details.family } : {}),
        ...(info.details?.parameter_size ? { parameterSize: info.details.parameter_size } : {}),
      };
    },
    ps: async () => {
      const { models } = await client.ps();
      return models.map((m) => ({
        name: m.name,
        sizeBytes: m.size,
        vramBytes: m.size_vram,
        expiresAt: new Date(m.expires_at),
      }));
    },
  };
}
