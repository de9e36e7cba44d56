import { afterEach, describe, expect, it } from 'vitest';
import { CadreError } from '../../src/core/index.js';
import { createOllamaEmbedder, createOpenAICompatibleEmbedder, HashingEmbedder } from 'cadre/models';
import { json, startWireServer, type ReceivedRequest } from '../fixtures/wire-server.js';

let server: Awaited<ReturnType<typeof startWireServer>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
const norm = (v: number[]) => Math.sqrt(cosine(v, v));
/** A fake embedding: the text's length and word count, then ones, so tests can see the order. */
const fakeVector = (text: string, size = 4) => [
  text.length,
  text.split(' ').length,
  ...new Array<number>(size - 2).fill(1),
];

async function rejection(promise: Promise<unknown>): Promise<CadreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(CadreError.isInstance(error), `expected a CadreError, got ${String(error)}`).toBe(true);
  return error as CadreError;
}

describe('HashingEmbedder', () => {
  const embedder = new HashingEmbedder({});

  it('is deterministic across instances and names its size', async () => {
    const [a] = await embedder.embed(['Plan the release of version 2']);
    const [b] = await new HashingEmbedder({}).embed(['Plan the release of version 2']);
    expect(a).toEqual(b);
    expect(embedder.name).toBe('hashing-384');
    expect(a).toHaveLength(384);
  });

  it('returns unit vectors, one per text, in order', async () => {
    const vectors = await embedder.embed(['alpha beta', 'gamma', 'alpha beta']);
    expect(vectors).toHaveLength(3);
    for (const v of vectors) expect(norm(v)).toBeCloseTo(1, 10);
    expect(vectors[0]).toEqual(vectors[2]);
    expect(vectors[0]).not.toEqual(vectors[1]);
  });

  it('scores texts that share words and word forms above unrelated ones', async () => {
    const [query, near, plural, far] = await embedder.embed([
      'summarise the quarterly sales report',
      'write a summary of the sales report for the quarter',
      'plans',
      'the cat sat on the warm mat',
    ]);
    const [plan] = await embedder.embed(['plan']);
    expect(cosine(query!, near!)).toBeGreaterThan(cosine(query!, far!) + 0.2);
    // Only character 3-grams link these two words.
    expect(cosine(plan!, plural!)).toBeGreaterThan(0.3);
    expect(cosine(plan!, far!)).toBeLessThan(0.15);
  });

  it('honours the dimensions option', async () => {
    const small = new HashingEmbedder({ dimensions: 64 });
    const [v] = await small.embed(['hello world']);
    expect(small.dimensions).toBe(64);
    expect(small.name).toBe('hashing-64');
    expect(v).toHaveLength(64);
    expect(() => new HashingEmbedder({ dimensions: 0 })).toThrow(/dimensions/);
  });

  it('gives empty and punctuation-only text the same fixed unit vector, so cosine is defined', async () => {
    const [empty, punctuation] = await embedder.embed(['', '  ?!  ']);
    expect(norm(empty!)).toBeCloseTo(1, 10);
    expect(empty).toEqual(punctuation);
  });
});

describe('Ollama embedder (POST /api/embed)', () => {
  async function ollama(answer: (req: ReceivedRequest) => { status: number; body: unknown }) {
    server = await startWireServer((req, res) => {
      const { status, body } = answer(req);
      return json(res, status, body);
    });
    return server.url;
  }
  const embedOk = (req: ReceivedRequest) => {
    const { input, model } = req.body as { input: string[]; model: string };
    return { status: 200, body: { model, embeddings: input.map((t) => fakeVector(t)) } };
  };

  it('sends texts as input[] in batches and returns vectors in order, learning the dimension', async () => {
    const url = await ollama(embedOk);
    const embedder = createOllamaEmbedder({ baseUrl: url, model: 'nomic-embed-text', batchSize: 2 });
    expect(() => embedder.dimensions).toThrow(/unknown until the first embed call/);
    const vectors = await embedder.embed(['a', 'bb cc', 'ddd']);
    expect(vectors).toEqual([fakeVector('a'), fakeVector('bb cc'), fakeVector('ddd')]);
    expect(embedder.dimensions).toBe(4);
    expect(embedder.name).toBe('ollama:nomic-embed-text');
    expect(server!.requests.map((r) => [r.method, r.path, (r.body as { input: string[] }).input])).toEqual([
      ['POST', '/api/embed', ['a', 'bb cc']],
      ['POST', '/api/embed', ['ddd']],
    ]);
    expect((server!.requests[0]!.body as { model: string }).model).toBe('nomic-embed-text');
  });

  it('sends no request for no texts', async () => {
    const url = await ollama(embedOk);
    expect(await createOllamaEmbedder({ baseUrl: url, model: 'm', dimensions: 4 }).embed([])).toEqual([]);
    expect(server!.requests).toHaveLength(0);
  });

  it('turns an HTTP 500 into a provider_error CadreError', async () => {
    const url = await ollama(() => ({ status: 500, body: { error: 'model crashed' } }));
    const error = await rejection(createOllamaEmbedder({ baseUrl: url, model: 'm' }).embed(['x']));
    expect(error.code).toBe('provider_error');
    expect(error.message).toMatch(/model crashed/);
  });

  it('rejects a vector of the wrong length as provider_error', async () => {
    const url = await ollama(() => ({ status: 200, body: { embeddings: [[1, 2, 3]] } }));
    const error = await rejection(createOllamaEmbedder({ baseUrl: url, model: 'm', dimensions: 4 }).embed(['x']));
    expect(error.code).toBe('provider_error');
    expect(error.message).toMatch(/3 numbers, expected 4/);
  });

  it('rejects vectors of mixed lengths, a missing vector and a non-finite number', async () => {
    const bodies = [
      {
        embeddings: [
          [1, 2],
          [1, 2, 3],
        ],
      },
      { embeddings: [[1, 2]] },
      {
        embeddings: [
          [1, null],
          [1, 2],
        ],
      },
    ];
    let call = 0;
    const url = await ollama(() => ({ status: 200, body: bodies[call++] }));
    const embedder = createOllamaEmbedder({ baseUrl: url, model: 'm' });
    for (let i = 0; i < bodies.length; i++)
      expect((await rejection(embedder.embed(['x', 'y']))).code).toBe('provider_error');
  });

  it('is cancelled by the caller signal and times out by timeoutMs', async () => {
    server = await startWireServer(() => undefined); // never answers
    const embedder = createOllamaEmbedder({ baseUrl: server.url, model: 'm', timeoutMs: 200 });
    expect((await rejection(embedder.embed(['x']))).code).toBe('timeout');
    const controller = new AbortController();
    const pending = embedder.embed(['x'], { signal: controller.signal });
    controller.abort();
    expect((await rejection(pending)).code).toBe('cancelled');
  });
});

describe('OpenAI-compatible embedder (POST /v1/embeddings)', () => {
  async function openai(status = 200, vectors?: number[][]) {
    server = await startWireServer((req, res) => {
      if (status !== 200) return json(res, status, { error: { message: 'upstream exploded', type: 'server_error' } });
      const { input, model } = req.body as { input: string[]; model: string };
      const data = (vectors ?? input.map((t) => fakeVector(t, 3))).map((embedding, index) => ({
        object: 'embedding',
        index,
        embedding,
      }));
      return json(res, 200, { object: 'list', model, data, usage: { prompt_tokens: 3, total_tokens: 3 } });
    });
    return `${server.url}/v1`;
  }

  it('posts float-encoded batches to /v1/embeddings with the key and returns vectors in order', async () => {
    const baseUrl = await openai();
    const embedder = createOpenAICompatibleEmbedder({
      baseUrl,
      apiKey: 'sk-test',
      model: 'bge-m3',
      dimensions: 3,
      batchSize: 2,
    });
    const vectors = await embedder.embed(['one', 'two two', 'three\nlines']);
    expect(vectors).toEqual([fakeVector('one', 3), fakeVector('two two', 3), fakeVector('three\nlines', 3)]);
    expect(embedder.dimensions).toBe(3);
    const posts = server!.requests.filter((r) => r.path === '/v1/embeddings');
    expect(posts.map((r) => (r.body as { input: string[] }).input)).toEqual([['one', 'two two'], ['three\nlines']]);
    expect(posts[0]!.body).toMatchObject({ model: 'bge-m3', encoding_format: 'float' });
    expect(posts[0]!.headers.authorization).toBe('Bearer sk-test');
  });

  it('turns an HTTP 500 into a provider_error CadreError', async () => {
    const baseUrl = await openai(500);
    const error = await rejection(createOpenAICompatibleEmbedder({ baseUrl, model: 'm' }).embed(['x']));
    expect(error.code).toBe('provider_error');
  });

  it('rejects a vector of the wrong length as provider_error', async () => {
    const baseUrl = await openai(200, [[0.1, 0.2]]);
    const error = await rejection(createOpenAICompatibleEmbedder({ baseUrl, model: 'm', dimensions: 3 }).embed(['x']));
    expect(error.code).toBe('provider_error');
  });
});
