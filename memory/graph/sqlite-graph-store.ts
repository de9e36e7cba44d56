import type { Database, Statement } from 'better-sqlite3';
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
import { checkScope, scopeLevels, type Scope } from '../scope.js';
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

type EntityRow = {
  id: string;
  tenant: string;
  user: string | null;
  agent: string | null;
  run: string | null;
  name: string;
  norm_name: string;
  type: string;
  aliases: string;
  embedding: Buffer | null;
  created_at: number;
};
type RelationRow = {
  id: string;
  tenant: string;
  user: string | null;
  agent: string | null;
  run: string | null;
  subject_id: string;
  predicate: string;
  object_id: string | null;
  value: string | null;
  valid_from: number;
  valid_to: number | null;
  recorded_at: number;
  provenance: string;
};
type ScopeParams = { tenant: string; user: string | null; agent: string | null; run: string | null };
type Params = ScopeParams & Record<string, unknown>;
type Queries = Record<
  | 'entity'
  | 'entities'
  | 'byAlias'
  | 'embedded'
  | 'find'
  | 'insertEntity'
  | 'insertAlias'
  | 'setAliases'
  | 'relation'
  | 'current'
  | 'close'
  | 'insertRelation'
  | 'about'
  | 'touching'
  | 'countEntities'
  | 'countRelations'
  | 'aliasesOf',
  Statement<[Params]>
>;

const schema = `
CREATE TABLE IF NOT EXISTS kg_entities (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, user TEXT, agent TEXT, run TEXT,
  name TEXT NOT NULL, norm_name TEXT NOT NULL, type TEXT NOT NULL, aliases TEXT NOT NULL, embedding BLOB, created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS kg_entities_tenant_type ON kg_entities (tenant, type);
CREATE TABLE IF NOT EXISTS kg_aliases (entity_id TEXT NOT NULL, norm_alias TEXT NOT NULL, PRIMARY KEY (entity_id, norm_alias));
CREATE INDEX IF NOT EXISTS kg_aliases_norm ON kg_aliases (norm_alias);
CREATE TABLE IF NOT EXISTS kg_relations (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, user TEXT, agent TEXT, run TEXT,
  subject_id TEXT NOT NULL, predicate TEXT NOT NULL, object_id TEXT, value TEXT,
  valid_from REAL NOT NULL, valid_to REAL, recorded_at REAL NOT NULL, provenance TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS kg_relations_subject ON kg_relations (tenant, subject_id);
CREATE INDEX IF NOT EXISTS kg_relations_object ON kg_relations (tenant, object_id);
CREATE INDEX IF NOT EXISTS kg_relations_predicate ON kg_relations (tenant, predicate);`;

/** isVisible in SQL: a NULL query level binds `= NULL`, which is never true, leaving only shared rows. */
const visible = (t: string) =>
  `${t}.tenant = @tenant AND ${scopeLevels.map((l) => `(${t}.${l} IS NULL OR ${t}.${l} = @${l})`).join(' AND ')}`;
const validAt = 'r.valid_from <= @asOf AND (r.valid_to IS NULL OR r.valid_to > @asOf)';
const ordered = 'ORDER BY r.valid_from, r.recorded_at, r.id';
const specificity = '((e.user IS NOT NULL) + (e.agent IS NOT NULL) + (e.run IS NOT NULL))';

const scopeParams = (s: Scope): ScopeParams => ({
  tenant: s.tenant,
  user: s.user ?? null,
  agent: s.agent ?? null,
  run: s.run ?? null,
});
const scopeOf = (r: ScopeParams): Scope => ({
  tenant: r.tenant,
  ...(r.user !== null ? { user: r.user } : {}),
  ...(r.agent !== null ? { agent: r.agent } : {}),
  ...(r.run !== null ? { run: r.run } : {}),
});
const sameScope = (r: ScopeParams, s: ScopeParams) =>
  r.tenant === s.tenant && r.user === s.user && r.agent === s.agent && r.run === s.run;
const toEntity = (r: EntityRow): Entity => ({
  id: r.id,
  name: r.name,
  type: r.type,
  aliases: JSON.parse(r.aliases) as string[],
  scope: scopeOf(r),
  createdAt: r.created_at,
});
const toRelation = (r: RelationRow): Relation => ({
  id: r.id,
  subjectId: r.subject_id,
  predicate: r.predicate,
  ...(r.object_id !== null ? { objectId: r.object_id } : {}),
  ...(r.value !== null ? { value: JSON.parse(r.value) as Relation['value'] } : {}),
  validFrom: r.valid_from,
  validTo: r.valid_to,
  recordedAt: r.recorded_at,
  provenance: JSON.parse(r.provenance) as Relation['provenance'],
  scope: scopeOf(r),
});
const invalid = (message: string, details: Record<string, unknown>) =>
  new CadreError('input_invalid', message, { details });

/**
 * A temporal GraphStore in SQLite (tables `kg_*`). Every statement filters by the caller's scope in
 * SQL; writes run in one transaction, so bad input leaves nothing behind. The caller owns `db`.
 */
export class SqliteGraphStore implements GraphStore {
  private readonly threshold: number;
  private readonly q: Queries;
  private readonly upsertEntitiesTx: (inputs: CheckedEntity[], s: ScopeParams, now: number) => Entity[];
  private readonly upsertRelationsTx: (inputs: CheckedRelation[], s: ScopeParams, now: number) => Relation[];

  constructor(
    private readonly db: Database,
    options: { similarityThreshold?: number } = {},
  ) {
    this.threshold = options.similarityThreshold ?? 0.9;
    db.exec(schema);
    const ids = (p: string) => `(SELECT value FROM json_each(@${p}))`;
    const sql = {
      entity: `SELECT * FROM kg_entities e WHERE e.id = @id AND ${visible('e')}`,
      entities: `SELECT * FROM kg_entities e WHERE e.id IN ${ids('ids')} AND ${visible('e')}`,
      byAlias: `SELECT e.* FROM kg_entities e JOIN kg_aliases a ON a.entity_id = e.id WHERE a.norm_alias = @norm AND e.type = @type AND ${visible('e')}
        ORDER BY e.norm_name = @norm DESC, ${specificity} DESC, e.created_at, e.id LIMIT 1`,
      embedded: `SELECT * FROM kg_entities e WHERE e.type = @type AND e.embedding IS NOT NULL AND ${visible('e')} ORDER BY e.created_at, e.id`,
      find: `SELECT e.*, MIN(CASE WHEN e.norm_name = @norm THEN 0 WHEN a.norm_alias = @norm THEN 1 WHEN a.norm_alias LIKE @prefix ESCAPE '\\' THEN 2 ELSE 3 END) AS rank
        FROM kg_entities e JOIN kg_aliases a ON a.entity_id = e.id WHERE a.norm_alias LIKE @infix ESCAPE '\\' AND ${visible('e')}
        GROUP BY e.id ORDER BY rank, length(e.norm_name), e.created_at, e.id LIMIT @limit`,
      insertEntity: `INSERT INTO kg_entities VALUES (@id, @tenant, @user, @agent, @run, @name, @norm_name, @type, @aliases, @embedding, @created_at)`,
      insertAlias: 'INSERT OR IGNORE INTO kg_aliases VALUES (@id, @norm)',
      setAliases: 'UPDATE kg_entities SET aliases = @aliases WHERE id = @id',
      relation: `SELECT * FROM kg_relations r WHERE r.id = @id AND ${visible('r')}`,
      current: `SELECT * FROM kg_relations r WHERE r.subject_id = @subject AND r.predicate = @predicate AND r.valid_to IS NULL AND ${visible('r')} ${ordered}`,
      close: 'UPDATE kg_relations SET valid_to = @at WHERE id = @id',
      insertRelation: `INSERT INTO kg_relations VALUES (@id, @tenant, @user, @agent, @run, @subject_id, @predicate, @object_id, @value,
        @valid_from, @valid_to, @recorded_at, @provenance)`,
      about: `SELECT * FROM kg_relations r WHERE (r.subject_id = @id OR r.object_id = @id) AND ${visible('r')} AND ${validAt} ${ordered}`,
      touching: `SELECT * FROM kg_relations r WHERE (r.subject_id IN ${ids('ids')} OR r.object_id IN ${ids('ids')}) AND ${visible('r')} AND ${validAt} ${ordered}`,
      countEntities: `SELECT COUNT(*) AS n FROM kg_entities e WHERE ${visible('e')}`,
      countRelations: `SELECT COUNT(*) AS n FROM kg_relations r WHERE ${visible('r')}`,
      aliasesOf: 'SELECT norm_alias FROM kg_aliases WHERE entity_id = @id',
    };
    this.q = Object.fromEntries(Object.entries(sql).map(([k, v]) => [k, db.prepare<[Params]>(v)])) as Queries;
    this.upsertEntitiesTx = db.transaction((inputs: CheckedEntity[], s: ScopeParams, now: number) =>
      inputs.map((e) => toEntity(this.resolve(e, s, now))),
    );
    this.upsertRelationsTx = db.transaction((inputs: CheckedRelation[], s: ScopeParams, now: number) =>
      inputs.map((r) => this.record(r, s, now)),
    );
  }

  /** Creates entities or resolves them to existing ones visible in the scope. */
  async upsertEntities(entities: readonly EntityInput[], scope: Scope): Promise<Entity[]> {
    const s = scopeParams(checkScope(scope));
    const checked = [...entities].map((e, i) => checkEntityInput(e, `entities[${i}]`));
    return this.upsertEntitiesTx(checked, s, Date.now());
  }

  /** Records facts in one transaction, closing contradicted single-valued facts. */
  async upsertRelations(relations: readonly RelationInput[], scope: Scope): Promise<Relation[]> {
    const s = scopeParams(checkScope(scope));
    const now = Date.now();
    const checked = [...relations].map((r, i) => checkRelationInput(r, now, `relations[${i}]`));
    return this.upsertRelationsTx(checked, s, now);
  }

  /** Entities whose normalised name or alias contains `name`: exact name, exact alias, prefix, then substring. */
  async findEntities(name: string, options: { scope: Scope; limit?: number }): Promise<Entity[]> {
    const s = scopeParams(checkScope(options.scope));
    const norm = typeof name === 'string' ? normaliseName(name) : '';
    if (!norm) throw invalid('name must not be empty', { name });
    const limit = checkHops(options.limit, 'limit', 10, 1000);
    const like = norm.replace(/[\\%_]/g, '\\$&');
    return (this.q.find.all({ ...s, norm, prefix: `${like}%`, infix: `%${like}%`, limit }) as EntityRow[]).map(
      toEntity,
    );
  }

  /** Facts with the entity as subject or object, true at `asOf`. */
  async factsAbout(entityId: string, options: GraphQueryOptions): Promise<Relation[]> {
    const { s, asOf } = this.query(options);
    this.requireEntity(entityId, s, 'entityId');
    return (this.q.about.all({ ...s, id: entityId, asOf }) as RelationRow[]).map(toRelation);
  }

  /** Breadth-first over facts true at `asOf`, in either direction, up to `hops`. */
  async neighbours(entityId: string, options: GraphQueryOptions & { hops?: number }): Promise<Neighbourhood> {
    const { s, asOf } = this.query(options);
    const hops = checkHops(options.hops, 'hops', 1, 4);
    this.requireEntity(entityId, s, 'entityId');
    const { entityIds, relations } = await expandNeighbourhood(entityId, hops, this.touching(s, asOf));
    const byId = new Map(
      (this.q.entities.all({ ...s, ids: JSON.stringify(entityIds) }) as EntityRow[]).map((r) => [r.id, toEntity(r)]),
    );
    return { entities: entityIds.flatMap((id) => byId.get(id) ?? []), relations };
  }

  /** Breadth-first, undirected, over facts true at `asOf`; [] when both ids are the same entity. */
  async shortestPath(
    fromId: string,
    toId: string,
    options: GraphQueryOptions & { maxHops?: number },
  ): Promise<Relation[] | null> {
    const { s, asOf } = this.query(options);
    const maxHops = checkHops(options.maxHops, 'maxHops', 4, 10);
    this.requireEntity(fromId, s, 'fromId');
    this.requireEntity(toId, s, 'toId');
    return findShortestPath(fromId, toId, maxHops, this.touching(s, asOf));
  }

  private touching(s: ScopeParams, asOf: number): TouchingFacts {
    return async (ids) =>
      (this.q.touching.all({ ...s, asOf, ids: JSON.stringify(ids) }) as RelationRow[]).map(toRelation);
  }

  /** Closes a fact at `at` (never before it began); an already earlier close is kept. */
  async invalidate(relationId: string, options: { scope: Scope; at?: number }): Promise<void> {
    const s = scopeParams(checkScope(options.scope));
    const at = checkTime(options.at, 'at', Date.now());
    const row = this.q.relation.get({ ...s, id: checkId(relationId, 'relationId') }) as RelationRow | undefined;
    if (!row) throw invalid(`No fact ${relationId} in this scope`, { relationId });
    if (row.valid_to !== null && row.valid_to <= at) return;
    this.q.close.run({ ...s, id: row.id, at: Math.max(at, row.valid_from) });
  }

  /** Counts everything, or only what `scope` can see. */
  async count(scope?: Scope): Promise<{ entities: number; relations: number }> {
    if (scope === undefined) {
      const n = (table: string) => (this.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      return { entities: n('kg_entities'), relations: n('kg_relations') };
    }
    const s = scopeParams(checkScope(scope));
    const n = (key: 'countEntities' | 'countRelations') => (this.q[key].get(s) as { n: number }).n;
    return { entities: n('countEntities'), relations: n('countRelations') };
  }

  /** Nothing to release: the caller owns the connection. */
  async close(): Promise<void> {}

  private query(options: GraphQueryOptions): { s: ScopeParams; asOf: number } {
    return { s: scopeParams(checkScope(options?.scope)), asOf: checkTime(options.asOf, 'asOf', Date.now()) };
  }

  private requireEntity(id: string, s: ScopeParams, field: string): EntityRow {
    const row = this.q.entity.get({ ...s, id: checkId(id, field) }) as EntityRow | undefined;
    if (!row) throw invalid(`${field}: no entity ${id} in this scope`, { [field]: id });
    return row;
  }

  /** Same normalised name or alias and type, else the most similar embedding, else a new entity. */
  private resolve(e: CheckedEntity, s: ScopeParams, now: number): EntityRow {
    const norms = [e.normName, ...e.aliases.map(normaliseName)];
    let row: EntityRow | undefined;
    for (const norm of norms) if (!row) row = this.q.byAlias.get({ ...s, norm, type: e.type }) as EntityRow | undefined;
    if (!row && e.embedding) {
      let best = this.threshold;
      for (const candidate of this.q.embedded.all({ ...s, type: e.type }) as EntityRow[]) {
        const score = cosineSimilarity(e.embedding, [...new Float64Array(new Uint8Array(candidate.embedding!).buffer)]);
        if (score >= best) {
          best = score;
          row = candidate;
        }
      }
    }
    if (!row) {
      row = {
        id: createId('ent'),
        ...s,
        name: e.name,
        norm_name: e.normName,
        type: e.type,
        aliases: JSON.stringify(e.aliases),
        embedding: e.embedding ? Buffer.from(new Float64Array(e.embedding).buffer) : null,
        created_at: now,
      };
      this.q.insertEntity.run(row);
      for (const norm of new Set(norms)) this.q.insertAlias.run({ ...s, id: row.id, norm });
      return row;
    }
    // Merged aliases are visible to everyone who sees the entity, so only its own scope may add them.
    if (!sameScope(row, s)) return row;
    const known = new Set(
      (this.q.aliasesOf.all({ ...s, id: row.id }) as { norm_alias: string }[]).map((a) => a.norm_alias),
    );
    const added = newAliases(known, e);
    if (added.length === 0) return row;
    const aliases = JSON.stringify([...(JSON.parse(row.aliases) as string[]), ...added]);
    this.q.setAliases.run({ ...s, id: row.id, aliases });
    for (const a of added) this.q.insertAlias.run({ ...s, id: row.id, norm: normaliseName(a) });
    return { ...row, aliases };
  }

  private record(r: CheckedRelation, s: ScopeParams, now: number): Relation {
    const end = (x: string | CheckedEntity, field: string) =>
      (typeof x === 'string' ? this.requireEntity(x, s, field) : this.resolve(x, s, now)).id;
    const subjectId = end(r.subject, 'subject');
    const objectId = r.object === undefined ? null : end(r.object, 'object');
    const current = this.q.current.all({ ...s, subject: subjectId, predicate: r.predicate }) as RelationRow[];
    const same = current.find((c) => c.object_id === objectId && c.value === r.valueJson);
    if (same) return toRelation(same);
    let validTo: number | null = null;
    if (r.singleValued) {
      for (const c of current) {
        // A back-dated fact ends where the current one begins, rather than closing it before it started.
        if (c.valid_from > r.validFrom) validTo = Math.min(validTo ?? Infinity, c.valid_from);
        else this.q.close.run({ ...s, id: c.id, at: r.validFrom });
      }
    }
    const row: RelationRow = {
      id: createId('rel'),
      ...s,
      subject_id: subjectId,
      predicate: r.predicate,
      object_id: objectId,
      value: r.valueJson,
      valid_from: r.validFrom,
      valid_to: validTo,
      recorded_at: now,
      provenance: JSON.stringify(r.provenance),
    };
    this.q.insertRelation.run(row);
    return toRelation(row);
  }
}
