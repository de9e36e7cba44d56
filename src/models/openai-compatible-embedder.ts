import { OpenAIEmbeddings } from '@langchain/openai';
import type { Embedder } from './embedder.js';
import { toModelError } from './model-errors.js';
import { locationOf } from './model-ref.js';
import { batchedEmbedder } from './ollama-embedder.js';

/** The server and embedding model, and how requests to it are sized and bounded. */
export interface OpenAICompatibleEmbedderOptions {
  /** Default `https://api.openai.com/v1`; for vLLM, llama.cpp, TEI, LocalAI or LM Studio, their `/v1` URL (and `kind: 'local'`). */
  baseUrl?: string;
  /** Local servers usually ignore it; a placeholder is sent when none is given. */
  apiKey?: string;
  /** e.g. `text-embedding-3-small`. */
  model: string;
  /** The size the model returns. Checked on every response; learned from the first one when not given. */
  dimensions?: number;
  /** Texts per request. Default 256. */
  batchSize?: number;
  /** Per request. Default 60 s. */
  timeoutMs?: number;
  /** As for chat providers: `openai` (the default) for a cloud API, `local` for a server on your own hardware. */
  kind?: 'openai' | 'local';
  /** Overrides where `kind` says the model runs, as a pool entry's `location` does. */
  location?: 'local' | 'cloud';
}

/** Embeddings from any server that speaks OpenAI `POST /embeddings`, through @langchain/openai. */
export function createOpenAICompatibleEmbedder(options: OpenAICompatibleEmbedderOptions): Embedder {
  const baseURL = (options.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  const ref = { provider: options.kind ?? 'openai', model: options.model };
  const location = options.location ?? locationOf(ref.provider);
  const batchSize = options.batchSize ?? 256;
  return batchedEmbedder(
    { name: `openai:${options.model}`, dimensions: options.dimensions, batchSize, location },
    async (batch, signal) => {
      // One client per batch, so the caller's signal can ride in through fetch: embedDocuments takes none.
      const client = new OpenAIEmbeddings({
        model: options.model,
        apiKey: options.apiKey ?? 'not-needed',
        batchSize,
        maxRetries: 0,
        timeout: options.timeoutMs ?? 60_000,
        // Many local servers cannot send base64, the client's default.
        encodingFormat: 'float',
        // Newlines carry meaning for code and lists; modern models do not need them stripped.
        stripNewLines: false,
        configuration: {
          baseURL,
          ...(signal
            ? {
                fetch: (url: string | URL | Request, init?: RequestInit) =>
                  fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal }),
              }
            : {}),
        },
      });
      try {
        return await client.embedDocuments(batch);
      } catch (error) {
        throw toModelError(error, ref);
      }
    },
  );
}
