import { randomUUID } from 'node:crypto';
import { QdrantClient, type Schemas } from '@qdrant/js-client-rest';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CadreError } from '../../src/core/index.js';
import type { Scope } from '../../memory/scope.js';
import type { VectorItem } from '../../memory/vector-store.js';
import { payloadConditions, qdrantFilter, scopeFilter } from '../../memory/vector/qdrant-filter.js';
import { openQdrantVectorStore, qdrantPointId } from '../../memory/vector/qdrant-vector-store.js';
import { describeVectorStoreConformance } from '../../src/testing/vector-store-conformance.js';
import { liveServiceTestApi } from '../fixtures/live-service.js';
import { allScopes, mayRead } from '../fixtures/scope-rule.js';
import { json, startWireServer } from '../fixtures/wire-server.js';

type Condition = Schemas['Condition'];
type Payload = Record<string, unknown>;

/** Evaluates the subset of Qdrant filters the scope filter uses, the way Qdrant documents it. */
function holds(condition: Condition, payload: Payload): boolean {
  const c = condition as {
    must?: Condition[];
    should?: Condition[];
    is_empty?: { key: string };
    key?: string;
    match?: { value: unknown };
  };
  if (c.must) return c.must.every((x) => holds(x, payload));
  if (c.should) return c.should.some((x) => holds(x, payload));
  if (c.is_empty) return payload[c.is_empty.key] === undefined || payload[c.is_empty.key] === null;
  if (c.key && c.match) return payload[c.key] === c.match.value;
  throw new Error(`condition not modelled: ${JSON.stringify(condition)}`);
}

const stored = (s: Scope): Payload => ({ _tenant: s.tenant, _user: s.user, _agent: s.agent, _run: s.run });

describe('Qdrant scope filter', () => {
  it('requires the tenant and an empty field at every level the query does not name', () => {
    expect(scopeFilter({ tenant: 'a' })).toEqual({
      must: [
        { key: '_tenant', match: { value: 'a' } },
        { is_empty: { key: '_user' } },
        { is_empty: { key: '_agent' } },
        { is_empty: { key: '_run' } },
      ],
    });
  });

  it('admits shared or own items at a level the query names', () => {
    expect(scopeFilter({ tenant: 'a', user: 'u1', run: 'r9' }).must).toEqual([
      { key: '_tenant', match: { value: 'a' } },
      { should: [{ is_empty: { key: '_user' } }, { key: '_user', match: { value: 'u1' } }] },
      { is_empty: { key: '_agent' } },
      { should: [{ is_empty: { key: '_run' } }, { key: '_run', match: { value: 'r9' } }] },
    ]);
  });

  it('admits exactly the items the documented scope rule shows the query, for every combination of scopes', () => {
    const scopes = allScopes({
      tenant: ['a', 'b'],
      user: [undefined, 'x', 'y'],
      agent: [undefined, 'x', 'y'],
      run: [undefined, 'x'],
    });
    let admitted = 0;
    for (const query of scopes) {
      const filter = scopeFilter(query);
      for (const item of scopes) {
        const expected = mayRead(query, item);
        expect(holds(filter, stored(item)), `${JSON.stringify(item)} in ${JSON.stringify(query)}`).toBe(expected);
        if (expected) admitted += 1;
      }
    }
    // Per tenant: (1 + 2·2) choices at user and agent, (1 + 2) at run.
    expect(admitted).toBe(2 * 5 * 5 * 3);
  });
});

describe('Qdrant payload filter', () => {
  it('translates equality, set membership and ranges into conditions on p.<field>', () => {
    expect(payloadConditions({ kind: 'note', year: 2024, score: 0.5, done: false, gone: null })).toEqual([
      { key: 'p.kind', match: { value: 'note' } },
      { key: 'p.year', match: { value: 2024 } },
      { key: 'p.score', range: { gte: 0.5, lte: 0.5 } },
      { key: 'p.done', match: { value: false } },
      { is_null: { key: 'p.gone' } },
    ]);
    expect(
      payloadConditions({
        kind: { in: ['a', 'b'] },
        n: { in: [1, 2] },
        mixed: { in: ['a', 1] },
        year: { gt: 2020, lte: 2024 },
      }),
    ).toEqual([
      { key: 'p.kind', match: { any: ['a', 'b'] } },
      { key: 'p.n', match: { any: [1, 2] } },
      {
        should: [
          { key: 'p.mixed', match: { value: 'a' } },
          { key: 'p.mixed', match: { value: 1 } },
        ],
      },
      { key: 'p.year', range: { gt: 2020, lte: 2024 } },
    ]);
  });

  it('says an empty set matches nothing, and puts scope and payload conditions in one must', () => {
    expect(payloadConditions({ kind: { in: [] } })).toBeNull();
    expect(qdrantFilter({ tenant: 'a' }, { kind: { in: [] } })).toBeNull();
    expect(qdrantFilter({ tenant: 'a' }, { kind: 'note' })!.must).toEqual([
      ...(scopeFilter({ tenant: 'a' }).must as Condition[]),
      { key: 'p.kind', match: { value: 'note' } },
    ]);
  });

  it('rejects malformed filters and path-like field names with input_invalid', () => {
    for (const bad of [
      { n: { gt: 'one' } },
      { n: { between: [1, 2] } },
      { n: { in: 'x' } },
      { n: [1] },
      { n: {} },
      'n = 1',
      { 'a.b': 1 },
    ]) {
      let error: unknown;
      try {
        payloadConditions(bad);
      } catch (e) {
        error = e;
      }
      expect(CadreError.isInstance(error) && error.code, JSON.stringify(bad)).toBe('input_invalid');
    }
  });

  it('maps ids to stable, distinct version-5 UUIDs', () => {
    expect(qdrantPointId('note-1')).toBe(qdrantPointId('note-1'));
    expect(qdrantPointId('note-1')).not.toBe(qdrantPointId('note-2'));
    expect(qdrantPointId('note-1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('Qdrant vector store against a recording HTTP server', () => {
  let server: Awaited<ReturnType<typeof startWireServer>> | undefined;
  afterEach(async () => server?.close());

  /** Answers like Qdrant for an existing collection of `size` cosine vectors with the scope indexes. */
  async function fakeQdrant(size: number) {
    const schema = Object.fromEntries(
      ['_tenant', '_user', '_agent', '_run'].map((k) => [k, { data_type: 'keyword', points: 0 }]),
    );
    server = await startWireServer((req, res) => {
      if (req.path.endsWith('/exists')) return json(res, 200, { result: { exists: true }, status: 'ok', time: 0 });
      if (req.method === 'GET')
        return json(res, 200, {
          result: {
            status: 'green',
            config: { params: { vectors: { size, distance: 'Cosine' } } },
            payload_schema: schema,
          },
          status: 'ok',
          time: 0,
        });
      if (req.path.endsWith('/points/query')) return json(res, 200, { result: { points: [] }, status: 'ok', time: 0 });
      return json(res, 404, { status: { error: `not faked: ${req.method} ${req.path}` } });
    });
    return server;
  }

  it('refuses an existing collection of another size with config_invalid', async () => {
    const { url } = await fakeQdrant(16);
    const error = await openQdrantVectorStore({ url, collection: 'notes', dimensions: 8 }).catch((e: unknown) => e);
    expect(CadreError.isInstance(error) && error.code).toBe('config_invalid');
  });

  it('sends no request for bad input, and puts the scope filter on every query', async () => {
    const { url, requests } = await fakeQdrant(4);
    const store = await openQdrantVectorStore({ url, collection: 'notes', dimensions: 4 });
    const opened = requests.length;
    const good: VectorItem = { id: 'ok', vector: [1, 0, 0, 0], scope: { tenant: 'a' } };
    const bad = [
      { ...good, vector: [1, 0] },
      { ...good, vector: [Number.NaN, 0, 0, 0] },
      { ...good, scope: { tenant: 'a', team: 'x' } as Scope },
      { ...good, payload: { blob: 'x'.repeat(70 * 1024) } },
    ];
    for (const item of bad) await expect(store.upsert([good, item])).rejects.toMatchObject({ code: 'input_invalid' });
    await expect(
      store.query([1, 0, 0, 0], { scope: { tenant: 'a' }, filter: { n: { gt: 'x' } as never } }),
    ).rejects.toMatchObject({ code: 'input_invalid' });
    await expect(store.count({ user: 'u' } as unknown as Scope)).rejects.toMatchObject({ code: 'input_invalid' });
    expect(requests.length).toBe(opened);
    await store.query([1, 0, 0, 0], { scope: { tenant: 'a', user: 'u' }, k: 3, filter: { kind: 'note' } });
    expect(requests.at(-1)!.body).toMatchObject({
      limit: 3,
      filter: qdrantFilter({ tenant: 'a', user: 'u' }, { kind: 'note' }),
    });
  });
});

// Against a live Qdrant when QDRANT_URL is set; otherwise each test is listed as skipped, saying why.
const qdrantUrl = process.env.QDRANT_URL;
const apiKey = process.env.QDRANT_API_KEY;
const collections: string[] = [];
afterAll(async () => {
  if (!qdrantUrl || collections.length === 0) return;
  const client = new QdrantClient({ url: qdrantUrl, ...(apiKey ? { apiKey } : {}), checkCompatibility: false });
  await Promise.all(collections.map((c) => client.deleteCollection(c)));
});
describeVectorStoreConformance(
  'Qdrant',
  async (dimensions) => {
    const collection = `cadre_test_${randomUUID().replaceAll('-', '')}`;
    collections.push(collection);
    return openQdrantVectorStore({ url: qdrantUrl!, ...(apiKey ? { apiKey } : {}), collection, dimensions });
  },
  liveServiceTestApi('QDRANT_URL'),
);
