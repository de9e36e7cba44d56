import type { Embedder } from './embedder.js';
import { privacyError, privacyRefusal, refusalOf } from './privacy-scope.js';

const guarded = new WeakSet<Embedder>();

/**
 * The embedder under the rule chat routing follows: a cloud embedder (or one that does not say
 * where it runs) gets no text from a call labelled sensitive (`withPrivacy`) and no text holding
 * personal data; such a call throws `privacy_blocked` before anything is sent. Local embedders
 * are returned as they are.
 */
export function privateEmbedder(embedder: Embedder): Embedder {
  if (embedder.location === 'local' || guarded.has(embedder)) return embedder;
  const wrapped: Embedder = {
    name: embedder.name,
    location: 'cloud',
    get dimensions() {
      return embedder.dimensions;
    },
    async embed(texts, options) {
      const refusal = privacyRefusal(embedder.location, texts);
      if (refusal) throw privacyError(embedder.name, refusal);
      return embedder.embed(texts, options);
    },
  };
  guarded.add(wrapped);
  return wrapped;
}

/** One text's vector, or undefined when privacy keeps the text from the embedder (stores then rank by words). */
export async function embedIfAllowed(embedder: Embedder, text: string): Promise<number[] | undefined> {
  try {
    return (await embedder.embed([text]))[0];
  } catch (error) {
    if (refusalOf(error)) return undefined;
    throw error;
  }
}
