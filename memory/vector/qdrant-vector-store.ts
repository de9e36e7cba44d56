import { createHash } from 'node:crypto';
import { QdrantClient, type Schemas } from '@qdrant/js-client-rest';
import { CadreError } from '../../src/core/index.js';
import { checkScope, scopeLevels, type Scope } from '../scope.js';
import type { JsonValue, VectorHit, VectorItem, VectorQuery, VectorStore } from '../vector-store.js';
import { qdrantFilter, qdrantKeys, scopeFilter, type QdrantFilter } from './qdrant-filter.js';
import { invalid, isPlainObject, prepareItem as checkItem, sameScope, unitVector } from './vector-input.js';

const pointsPerRequest = 256;
const maxK = 10_000;
// Fixed forever: changing it would orphan every point already stored.
const scopeKeys = [qdrantKeys.tenant, ...scopeLevels.map((l) => qdrantKeys[l])];
const idNamespace = Buffer.from('6f0c6a1e2b7d4c59a3c1e9d84f2b7a10', 'hex');

export interface QdrantVectorStoreOptions {
  /** e.g. `http://127.0.0.1:6333`. */
  url: string;
  apiKey?: string;
  /** Created on first open with cosine distance and `dimensions`. */
  collection: string;
  dimensions: number;
  /** The embedding model's name: kept in the collection's metadata, and a different one later is refused. */
  embedder?: string;
}

interface Prepared {
  uuid: string;
  id: string;
  scope: Scope;
  vector: number[];
  payload: Record<string, JsonValue>;
}

const chunks = <T>(list: readonly T[]) =>
  Array.from({ length: Math.ceil(list.length / pointsPerRequest) }, (_, i) =>
    list.slice(i * pointsPerRequest, (i + 1) * pointsPerRequest),
  );

/** The point id for a caller's id: a UUID v5-style SHA-1 of it, because Qdrant takes only UUIDs and integers. */
export function qdrantPointId(id: string): string {
  const hash = createHash('sha1').update(idNamespace).update(id, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A checked item as a Qdrant point: shared validation, then cadre's keys for id, scope and text. */
function prepareItem(item: unknown, index: number, dimensions: number): Prepared {
  const checked = checkItem(item, index, dimensions);
  const { id, scope } = checked;
  // The JSON round trip drops what Qdrant would store differently (undefined fields, Dates, NaN).
  const payload: Record<string, JsonValue> = {
    [qdrantKeys.id]: id,
    [qdrantKeys.tenant]: scope.tenant,
    [qdrantKeys.payload]: JSON.parse(checked.payload) as JsonValue,
    ...(checked.text !== null ? { [qdrantKeys.text]: checked.text } : {}),
  };
  for (const level of scopeLevels) if (scope[level] !== undefined) payload[qdrantKeys[level]] = scope[level];
  return { uuid: qdrantPointId(id), id, scope, vector: Array.from(checked.vector), payload };
}

function scopeOf(payload: Record<string, unknown>): Scope {
  const scope: Scope = { tenant: String(payload[qdrantKeys.tenant]) };
  for (const level of scopeLevels) {
    const value = payload[qdrantKeys[level]];
    if (typeof value === 'string' && value !== '') scope[level] = value;
  }
  return scope;
}

function storeError(error: unknown, what: string): CadreError {
  if (CadreError.isInstance(error)) return error;
  const e = error as { status?: number; message?: string; data?: { status?: { error?: string } } };
  const reason = e?.data?.status?.error ?? e?.message ?? String(error);
  return new CadreError('store_failed', `Qdrant ${what} failed${e?.status ? ` (HTTP ${e.status})` : ''}: ${reason}`, {
    cause: error,
    details: { status: e?.status },
  });
}

/** Creates the collection and scope indexes when missing; refuses one of another size or embedder. */
async function prepareCollection(client: QdrantClient, options: QdrantVectorStoreOptions): Promise<void> {
  const { collection, dimensions, embedder } = options;
  if (!(await client.collectionExists(collection)).exists) {
    try {
      await client.createCollection(collection, { vectors: { size: dimensions, distance: 'Cosine' } });
    } catch (error) {
      // Another process may have created it between our check and our create.
      if (!(await client.collectionExists(collection)).exists) throw error;
    }
  }
  const info = await client.getCollection(collection);
  const vectors = info.config.params.vectors as Partial<Schemas['VectorParams']> | undefined;
  if (vectors?.size !== dimensions || vectors.distance !== 'Cosine') {
    throw new CadreError(
      'config_invalid',
      `Qdrant collection "${collection}" holds ${vectors?.size ?? 'named'} ${vectors?.distance ?? ''} vectors; this store needs ${dimensions} Cosine`,
      { details: { collection, dimensions, found: vectors } },
    );
  }
  const stored = (info.config as { metadata?: Record<string, unknown> | null }).metadata?.cadre_embedder;
  if (embedder !== undefined && stored !== undefined && stored !== embedder) {
    throw new CadreError(
      'config_invalid',
      `Qdrant collection "${collection}" was filled by embedder "${String(stored)}", not "${embedder}"`,
      { details: { collection, embedder, stored } },
    );
  }
  if (embedder !== undefined && stored === undefined)
    await client.updateCollection(collection, { metadata: { cadre_embedder: embedder } });
  for (const key of scopeKeys) {
    if (info.payload_schema[key]) continue;
    // is_tenant lets Qdrant lay points out by tenant, which every query filters on.
    const schema = key === qdrantKeys.tenant ? { type: 'keyword' as const, is_tenant: true } : ('keyword' as const);
    await client.createPayloadIndex(collection, { field_name: key, field_schema: schema, wait: true });
  }
}

/**
 * A VectorStore on a Qdrant collection. Scopes are enforced here, on every query, delete and count,
 * not left to callers; bad input is refused before any request, so it changes nothing.
 */
export async function openQdrantVectorStore(options: QdrantVectorStoreOptions): Promise<VectorStore> {
  const { url, apiKey, collection, dimensions } = options;
  if (!Number.isInteger(dimensions) || dimensions < 1)
    throw new CadreError('config_invalid', `dimensions must be a positive integer, got ${dimensions}`);
  if (typeof collection !== 'string' || collection === '')
    throw new CadreError('config_invalid', 'collection must be a non-empty name');
  // checkCompatibility would print a warning on every version mismatch; the calls below fail clearly instead.
  const client = new QdrantClient({ url, ...(apiKey ? { apiKey } : {}), checkCompatibility: false });
  try {
    await prepareCollection(client, options);
  } catch (error) {
    throw storeError(error, `opening collection "${collection}"`);
  }
  let closed = false;
  const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw storeError(error, what);
    }
  };
  const openCheck = () => {
    if (closed) throw new CadreError('store_failed', 'The vector store is closed');
  };

  return {
    dimensions,
    async upsert(items) {
      openCheck();
      if (!Array.isArray(items)) throw invalid('upsert takes an array of items');
      // Validate everything before writing anything; a later item with the same id wins.
      const prepared = [
        ...new Map(
          (items as readonly VectorItem[]).map((item, i) => prepareItem(item, i, dimensions)).map((p) => [p.id, p]),
        ).values(),
      ];
      if (prepared.length === 0) return;
      for (const batch of chunks(prepared)) {
        const existing = await call('upsert', () =>
          client.retrieve(collection, { ids: batch.map((p) => p.uuid), with_payload: scopeKeys, with_vector: false }),
        );
        for (const point of existing) {
          const old = point.payload ?? {};
          const mine = batch.find((p) => p.uuid === point.id);
          // Replacing across scopes would let one tenant overwrite (or hide) another's item.
          if (mine && !sameScope(scopeOf(old), mine.scope))
            throw invalid(`Item "${mine.id}": the id is taken in another scope; delete it there first`, {
              id: mine.id,
            });
        }
      }
      for (const batch of chunks(prepared)) {
        await call('upsert', () =>
          client.upsert(collection, {
            wait: true,
            points: batch.map((p) => ({ id: p.uuid, vector: p.vector, payload: p.payload })),
          }),
        );
      }
    },

    async query(vector, queryOptions: VectorQuery) {
      openCheck();
      if (!isPlainObject(queryOptions)) throw invalid('query options must be an object with a scope');
      const scope = checkScope(queryOptions.scope);
      const k = queryOptions.k ?? 10;
      if (!Number.isInteger(k) || k < 1 || k > maxK) throw invalid(`k must be an integer from 1 to ${maxK}`, { k });
      const q = Array.from(unitVector(vector, dimensions, 'Query'));
      const filter = qdrantFilter(scope, queryOptions.filter);
      if (filter === null) return [];
      const { points } = await call('query', () =>
        client.query(collection, { query: q, filter, limit: k, with_payload: true }),
      );
      return points.map((point): VectorHit => {
        const payload = point.payload ?? {};
        const text = payload[qdrantKeys.text];
        return {
          id: String(payload[qdrantKeys.id]),
          score: point.score,
          scope: scopeOf(payload),
          payload: (payload[qdrantKeys.payload] ?? {}) as Record<string, JsonValue>,
          ...(typeof text === 'string' ? { text } : {}),
        };
      });
    },

    async delete(ids, scope) {
      openCheck();
      const s = checkScope(scope);
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))
        throw invalid('delete takes an array of ids');
      let deleted = 0;
      for (const batch of chunks([...new Set(ids as string[])].map(qdrantPointId))) {
        const filter: QdrantFilter = { must: [{ has_id: batch }, ...(scopeFilter(s).must as Schemas['Condition'][])] };
        // Qdrant does not say how many points a delete removed, so count the same filter first.
        const { count } = await call('delete', () => client.count(collection, { filter, exact: true }));
        if (count > 0) await call('delete', () => client.delete(collection, { wait: true, filter }));
        deleted += count;
      }
      return deleted;
    },

    async count(scope?: Scope) {
      openCheck();
      const filter = scope === undefined ? undefined : scopeFilter(checkScope(scope));
      return (await call('count', () => client.count(collection, { exact: true, ...(filter ? { filter } : {}) })))
        .count;
    },

    close() {
      // The REST client holds no connection of its own to release.
      closed = true;
      return Promise.resolve();
    },
  };
}
