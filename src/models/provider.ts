import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { ProviderKind } from '../core/index.js';

/** Sampling settings for a chat model; the provider's defaults apply to what is left out. */
export interface ChatModelOptions {
  temperature?: number;
  maxTokens?: number;
  /**
   * Tokens of context the server should hold for the model. Ollama loads the model with this
   * `num_ctx` (else with the server's own default, which may be far smaller than the model allows, and
   * a longer prompt is cut from the front without an error); other servers fix the window themselves.
   */
  contextWindow?: number;
}

/** A source of chat models: a local server or a cloud API. */
export interface ModelProvider {
  readonly kind: ProviderKind;
  readonly location: 'local' | 'cloud';
  readonly baseURL: string;
  /** A LangChain chat model for `model`; supports `bindTools`, AbortSignal and `stream()` with usage. */
  chatModel(model: string, options?: ChatModelOptions): BaseChatModel;
  /** Model names the server offers. Rejects when it does not answer in time. */
  listModels(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<string[]>;
}
