/** Turns texts into vectors of a fixed size. Implementations: Ollama, OpenAI-compatible, hashing. */
export interface Embedder {
  /** e.g. `hashing-384`, `ollama:nomic-embed-text`. Stored with vectors so a store never mixes embedders. */
  readonly name: string;
  readonly dimensions: number;
  /**
   * Where the model runs, decided like a chat model's (`locationOf` its provider unless declared).
   * An embedder that does not say counts as `cloud`: sensitive text never reaches it.
   */
  readonly location?: 'local' | 'cloud';
  /** One vector per text, in order; each has `dimensions` finite numbers. */
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<number[][]>;
}
