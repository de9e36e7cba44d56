import neo4j, { type Driver, type ManagedTransaction, type Node } from 'neo4j-driver';
import { CadreError, createId } from '../../src/core/index.js';
import type {
  Entity,
  EntityInput,
  GraphQueryOptions,
  GraphStore,
  Neighbourhood,
  Relation,
  RelationInput,
} from '../graph-store.js';
import { checkScope, type Scope } from '../scope.js';
import { expandNeighbourhood, findShortestPath, type TouchingFacts } from './graph-traversal.js';
import {
  checkEntityInput,
  checkHops,
  checkId,
  checkRelationInput,
  checkTime,
  newAliases,
  normaliseName,
  type CheckedEntity,
  type CheckedRelation,
} from './normalise.js';
import { cosineSimilarity } from '../vectors.js';

/*
 * Model: (:KgEntity {id, tenant, user?, agent?, run?, name, normName, type, aliases, normAliases, embedding?, createdAt})
 * and one (:KgFact {id, tenant, user?, agent?, run?, subjectId, predicate, objectId?, value?, validFrom, validTo?,
 * recordedAt, provenance}) node per fact, linked -[:KG_SUBJECT]-> and -[:KG_OBJECT]-> to its entities for browsing.
 * Validity lives on the fact node so a fact can be closed without touching the entities. Queries match on the
 * indexed id properties. Times are floats (ms since epoch) everywhere; `value` and `provenance` are JSON text.
 */
const schema = [
  'CREATE CONSTRAINT kg_entity_id IF NOT EXISTS FOR (e:KgEntity) REQUIRE e.id IS UNIQUE',
  'CREATE CONSTRAINT kg_fact_id IF NOT EXISTS FOR (f:KgFact) REQUIRE f.id IS UNIQUE',
  'CREATE INDEX kg_entity_type IF NOT EXISTS FOR (e:KgEntity) ON (e.tenant, e.type)',
  'CREATE INDEX kg_fact_subject IF NOT EXISTS FOR (f:KgFact) ON (f.tenant, f.subjectId)',
  'CREATE INDEX kg_fact_object IF NOT EXISTS FOR (f:KgFact) ON (f.tenant, f.objectId)',
  'CREATE INDEX kg_fact_predicate IF NOT EXISTS FOR (f:KgFact) ON (f.tenant, f.predicate)',
];

/** isVisible in Cypher: a null query level compares `= null`, which is never true, leaving only shared items. */
const vis = (x: string) =>
  `${x}.tenant = $tenant AND (${x}.user IS NULL OR ${x}.user = $user) AND (${x}.agent IS NULL OR ${x}.agent = $agent) AND (${x}.run IS NULL OR ${x}.run = $run)`;
const validAt = 'f.validFrom <= $asOf AND (f.validTo IS NULL OR f.validTo > $asOf)';
const factOrder = 'ORDER BY f.validFrom, f.recordedAt, f.id';
const specificity =
  '(CASE WHEN e.user IS NULL THEN 0 ELSE 1 END + CASE WHEN e.agent IS NULL THEN 0 ELSE 1 END + CASE WHEN e.run IS NULL THEN 0 ELSE 1 END)';
const cypher = {
  entity: `MATCH (e:KgEntity) WHERE e.id = $id AND ${vis('e')} RETURN e`,
  entities: `MATCH (e:KgEntity) WHERE e.id IN $ids AND ${vis('e')} RETURN e`,
  byAlias: `MATCH (e:KgEntity) WHERE e.tenant = $tenant AND e.type = $type AND $norm IN e.normAliases AND ${vis('e')}
    RETURN e ORDER BY CASE WHEN e.normName = $norm THEN 0 ELSE 1 END, ${specificity} DESC, e.createdAt, e.id LIMIT 1`,
  embedded: `MATCH (e:KgEntity) WHERE e.tenant = $tenant AND e.type = $type AND e.embedding IS NOT NULL AND ${vis('e')} RETURN e ORDER BY e.createdAt, e.id`,
  find: `MATCH (e:KgEntity) WHERE e.tenant = $tenant AND any(a IN e.normAliases WHERE a CONTAINS $norm) AND ${vis('e')}
    WITH e, CASE WHEN e.normName = $norm THEN 0 WHEN $norm IN e.normAliases THEN 1 WHEN any(a IN e.normAliases WHERE a STARTS WITH $norm) THEN 2 ELSE 3 END AS rank
    RETURN e, rank ORDER BY rank, size(e.normName), e.createdAt, e.id LIMIT $limit`,
  insertEntity: 'CREATE (e:KgEntity) SET e = $props RETURN e',
  setAliases: 'MATCH (e:KgEntity) WHERE e.id = $id SET e.aliases = $aliases, e.normAliases = $normAliases RETURN e',
  fact: `MATCH (f:KgFact) WHERE f.id = $id AND ${vis('f')} RETURN f`,
  current: `MATCH (f:KgFact) WHERE f.tenant = $tenant AND f.subjectId = $subject AND f.predicate = $predicate AND f.validTo IS NULL AND ${vis('f')} RETURN f ${factOrder}`,
  close: 'MATCH (f:KgFact) WHERE f.id = $id SET f.validTo = $at',
  insertFact: `MATCH (s:KgEntity) WHERE s.id = $props.subjectId OPTIONAL MATCH (o:KgEntity) WHERE o.id = $props.objectId
    CREATE (f:KgFact) SET f = $props CREATE (f)-[:KG_SUBJECT]->(s)
    FOREACH (link IN CASE WHEN o IS NULL THEN [] ELSE [1] END | CREATE (f)-[:KG_OBJECT]->(o)) RETURN f`,
  about: `MATCH (f:KgFact) WHERE f.tenant = $tenant AND (f.subjectId = $id OR f.objectId = $id) AND ${vis('f')} AND ${validAt} RETURN f ${factOrder}`,
  touching: `MATCH (f:KgFact) WHERE f.tenant = $tenant AND (f.subjectId IN $ids OR f.objectId IN $ids) AND ${vis('f')} AND ${validAt} RETURN f ${factOrder}`,
  countScoped: `OPTIONAL MATCH (e:KgEntity) WHERE ${vis('e')} WITH count(e) AS entities
    OPTIONAL MATCH (f:KgFact) WHERE ${vis('f')} RETURN entities, count(f) AS relations`,
  countAll:
    'OPTIONAL MATCH (e:KgEntity) WITH count(e) AS entities OPTIONAL MATCH (f:KgFact) RETURN entities, count(f) AS relations',
} as const;

type Props = Record<string, unknown>;
type ScopeParams = { tenant: string; user: string | null; agent: string | null; run: string | null };
const scopeParams = (s: Scope): ScopeParams => ({
  tenant: s.tenant,
  user: s.user ?? null,
  agent: s.agent ?? null,
  run: s.run ?? null,
});
const scopeOf = (p: Props): Scope => ({
  tenant: p.tenant as string,
  ...(p.user != null ? { user: p.user as string } : {}),
  ...(p.agent != null ? { agent: p.agent as string } : {}),
  ...(p.run != null ? { run: p.run as string } : {}),
});
const sameScope = (p: Props, s: ScopeParams) =>
  p.tenant === s.tenant && (p.user ?? null) === s.user && (p.agent ?? null) === s.agent && (p.run ?? null) === s.run;
/** Neo4j stores no nulls: an absent property is how "unset" is written. */
const withoutNulls = (p: Props): Props =>
  Object.fromEntries(Object.entries(p).filter(([, v]) => v !== null && v !== undefined));
const toEntity = (p: Props): Entity => ({
  id: p.id as string,
  name: p.name as string,
  type: p.type as string,
  aliases: (p.aliases as string[] | undefined) ?? [],
  scope: scopeOf(p),
  createdAt: p.createdAt as number,
});
const toRelation = (p: Props): Relation => ({
  id: p.id as string,
  subjectId: p.subjectId as string,
  predicate: p.predicate as string,
  ...(p.objectId != null ? { objectId: p.objectId as string } : {}),
  ...(p.value != null ? { value: JSON.parse(p.value as string) as Relation['value'] } : {}),
  validFrom: p.validFrom as number,
  validTo: (p.validTo as number | undefined) ?? null,
  recordedAt: p.recordedAt as number,
  provenance: JSON.parse((p.provenance as string | undefined) ?? '{}') as Relation['provenance'],
  scope: scopeOf(p),
});
const invalid = (message: string, details: Record<string, unknown>) =>
  new CadreError('input_invalid', message, { details });
const storeFailed = (error: unknown) =>
  CadreError.isInstance(error)
    ? error
    : new CadreError('store_failed', `Neo4j: ${(error as Error).message}`, { cause: error });

async function rows(tx: Pick<ManagedTransaction, 'run'>, query: string, params: Props): Promise<Props[]> {
  const result = await tx.run(query, params);
  return result.records.map((r) => (r.get(0) as Node).properties as Props);
}

/** Opens a GraphStore on Neo4j, creating its constraints and indexes if missing. Values always travel as parameters. */
export async function openNeo4jGraphStore(options: {
  uri: string;
  user: string;
  password: string;
  database?: string;
  similarityThreshold?: number;
}): Promise<GraphStore> {
  if (!options?.uri) throw new CadreError('config_invalid', 'openNeo4jGraphStore: uri is required');
  const driver = neo4j.driver(options.uri, neo4j.auth.basic(options.user, options.password), {
    disableLosslessIntegers: true,
  });
  try {
    await driver.verifyConnectivity(options.database ? { database: options.database } : {});
    for (const statement of schema)
      await driver.executeQuery(statement, {}, options.database ? { database: options.database } : {});
  } catch (error) {
    await driver.close();
    throw storeFailed(error);
  }
  return new Neo4jGraphStore(driver, options.database, options.similarityThreshold ?? 0.9);
}

class Neo4jGraphStore implements GraphStore {
  constructor(
    private readonly driver: Driver,
    private readonly database: string | undefined,
    private readonly threshold: number,
  ) {}

  async upsertEntities(entities: readonly EntityInput[], scope: Scope): Promise<Entity[]> {
    const s = scopeParams(checkScope(scope));
    const checked = [...entities].map((e, i) => checkEntityInput(e, `entities[${i}]`));
    const now = Date.now();
    return this.write(async (tx) => {
      const out: Entity[] = [];
      for (const e of checked) out.push(toEntity(await this.resolve(tx, e, s, now)));
      return out;
    });
  }

  async upsertRelations(relations: readonly RelationInput[], scope: Scope): Promise<Relation[]> {
    const s = scopeParams(checkScope(scope));
    const now = Date.now();
    const checked = [...relations].map((r, i) => checkRelationInput(r, now, `relations[${i}]`));
    return this.write(async (tx) => {
      const out: Relation[] = [];
      for (const r of checked) out.push(await this.record(tx, r, s, now));
      return out;
    });
  }

  async findEntities(name: string, options: { scope: Scope; limit?: number }): Promise<Entity[]> {
    const s = scopeParams(checkScope(options.scope));
    const norm = typeof name === 'string' ? normaliseName(name) : '';
    if (!norm) throw invalid('name must not be empty', { name });
    const limit = neo4j.int(checkHops(options.limit, 'limit', 10, 1000));
    return (await this.read(cypher.find, { ...s, norm, limit })).map(toEntity);
  }

  async factsAbout(entityId: string, options: GraphQueryOptions): Promise<Relation[]> {
    const { s, asOf } = this.query(options);
    await this.requireEntity(entityId, s, 'entityId');
    return (await this.read(cypher.about, { ...s, id: entityId, asOf })).map(toRelation);
  }

  async neighbours(entityId: string, options: GraphQueryOptions & { hops?: number }): Promise<Neighbourhood> {
    const { s, asOf } = this.query(options);
    const hops = checkHops(options.hops, 'hops', 1, 4);
    await this.requireEntity(entityId, s, 'entityId');
    const { entityIds, relations } = await expandNeighbourhood(entityId, hops, this.touching(s, asOf));
    const byId = new Map(
      (await this.read(cypher.entities, { ...s, ids: entityIds })).map((p) => [p.id as string, toEntity(p)]),
    );
    return { entities: entityIds.flatMap((id) => byId.get(id) ?? []), relations };
  }

  async shortestPath(
    fromId: string,
    toId: string,
    options: GraphQueryOptions & { maxHops?: number },
  ): Promise<Relation[] | null> {
    const { s, asOf } = this.query(options);
    const maxHops = checkHops(options.maxHops, 'maxHops', 4, 10);
    await this.requireEntity(fromId, s, 'fromId');
    await this.requireEntity(toId, s, 'toId');
    // Breadth-first in the client, one parameterised query per hop: Cypher path bounds cannot be parameters.
    return findShortestPath(fromId, toId, maxHops, this.touching(s, asOf));
  }

  private touching(s: Record<string, unknown>, asOf: number): TouchingFacts {
    return async (ids) => (await this.read(cypher.touching, { ...s, asOf, ids })).map(toRelation);
  }

  async invalidate(relationId: string, options: { scope: Scope; at?: number }): Promise<void> {
    const s = scopeParams(checkScope(options.scope));
    const at = checkTime(options.at, 'at', Date.now());
    const id = checkId(relationId, 'relationId');
    await this.write(async (tx) => {
      const [fact] = await rows(tx, cypher.fact, { ...s, id });
      if (!fact) throw invalid(`No fact ${relationId} in this scope`, { relationId });
      if (fact.validTo != null && (fact.validTo as number) <= at) return;
      await tx.run(cypher.close, { id, at: Math.max(at, fact.validFrom as number) });
    });
  }

  async count(scope?: Scope): Promise<{ entities: number; relations: number }> {
    const params = scope === undefined ? {} : scopeParams(checkScope(scope));
    const { records } = await this.driver
      .executeQuery(scope === undefined ? cypher.countAll : cypher.countScoped, params, this.config('READ'))
      .catch((error: unknown) => Promise.reject(storeFailed(error)));
    return { entities: Number(records[0]?.get('entities') ?? 0), relations: Number(records[0]?.get('relations') ?? 0) };
  }

  async close(): Promise<void> {
    await this.driver.close();
  }

  private config(mode: 'READ' | 'WRITE') {
    return { routing: mode, ...(this.database ? { database: this.database } : {}) };
  }

  private query(options: GraphQueryOptions): { s: ScopeParams; asOf: number } {
    return { s: scopeParams(checkScope(options?.scope)), asOf: checkTime(options.asOf, 'asOf', Date.now()) };
  }

  private async read(query: string, params: Props): Promise<Props[]> {
    const session = this.driver.session({
      defaultAccessMode: neo4j.session.READ,
      ...(this.database ? { database: this.database } : {}),
    });
    try {
      return await session.executeRead((tx) => rows(tx, query, params));
    } catch (error) {
      throw storeFailed(error);
    } finally {
      await session.close();
    }
  }

  /** One transaction per call, so an invalid item rolls back the whole batch. */
  private async write<T>(work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    const session = this.driver.session({
      defaultAccessMode: neo4j.session.WRITE,
      ...(this.database ? { database: this.database } : {}),
    });
    try {
      return await session.executeWrite(work);
    } catch (error) {
      throw storeFailed(error);
    } finally {
      await session.close();
    }
  }

  private async requireEntity(id: string, s: ScopeParams, field: string, tx?: ManagedTransaction): Promise<Props> {
    const params = { ...s, id: checkId(id, field) };
    const [entity] = tx ? await rows(tx, cypher.entity, params) : await this.read(cypher.entity, params);
    if (!entity) throw invalid(`${field}: no entity ${id} in this scope`, { [field]: id });
    return entity;
  }

  /** Same normalised name or alias and type, else the most similar embedding, else a new entity. */
  private async resolve(tx: ManagedTransaction, e: CheckedEntity, s: ScopeParams, now: number): Promise<Props> {
    const norms = [e.normName, ...e.aliases.map(normaliseName)];
    let found: Props | undefined;
    for (const norm of norms) if (!found) [found] = await rows(tx, cypher.byAlias, { ...s, norm, type: e.type });
    if (!found && e.embedding) {
      let best = this.threshold;
      for (const candidate of await rows(tx, cypher.embedded, { ...s, type: e.type })) {
        const score = cosineSimilarity(e.embedding, candidate.embedding as number[]);
        if (score >= best) {
          best = score;
          found = candidate;
        }
      }
    }
    if (!found) {
      const props = withoutNulls({
        id: createId('ent'),
        ...s,
        name: e.name,
        normName: e.normName,
        type: e.type,
        aliases: e.aliases,
        normAliases: [...new Set(norms)],
        embedding: e.embedding,
        createdAt: now,
      });
      return (await rows(tx, cypher.insertEntity, { props }))[0]!;
    }
    // Merged aliases are visible to everyone who sees the entity, so only its own scope may add them.
    if (!sameScope(found, s)) return found;
    const known = new Set(found.normAliases as string[]);
    const added = newAliases(known, e);
    if (added.length === 0) return found;
    const params = {
      id: found.id,
      aliases: [...((found.aliases as string[] | undefined) ?? []), ...added],
      normAliases: [...known],
    };
    return (await rows(tx, cypher.setAliases, params))[0]!;
  }

  private async record(tx: ManagedTransaction, r: CheckedRelation, s: ScopeParams, now: number): Promise<Relation> {
    const end = async (x: string | CheckedEntity, field: string) =>
      (typeof x === 'string' ? await this.requireEntity(x, s, field, tx) : await this.resolve(tx, x, s, now))
        .id as string;
    const subjectId = await end(r.subject, 'subject');
    const objectId = r.object === undefined ? null : await end(r.object, 'object');
    const current = await rows(tx, cypher.current, { ...s, subject: subjectId, predicate: r.predicate });
    const same = current.find((c) => (c.objectId ?? null) === objectId && (c.value ?? null) === r.valueJson);
    if (same) return toRelation(same);
    let validTo: number | null = null;
    if (r.singleValued) {
      for (const c of current) {
        // A back-dated fact ends where the current one begins, rather than closing it before it started.
        if ((c.validFrom as number) > r.validFrom) validTo = Math.min(validTo ?? Infinity, c.validFrom as number);
        else await tx.run(cypher.close, { id: c.id, at: r.validFrom });
      }
    }
    const props = withoutNulls({
      id: createId('rel'),
      ...s,
      subjectId,
      predicate: r.predicate,
      objectId,
      value: r.valueJson,
      validFrom: r.validFrom,
      validTo,
      recordedAt: now,
      provenance: JSON.stringify(r.provenance),
    });
    return toRelation((await rows(tx, cypher.insertFact, { props }))[0]!);
  }
}
