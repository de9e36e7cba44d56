import type { Scope } from './scope.js';
import type { JsonPrimitive } from './vector-store.js';

/** A thing facts are about. Resolved by normalised name, aliases and (when given) embedding. */
export interface Entity {
  id: string;
  name: string;
  type: string;
  aliases: string[];
  scope: Scope;
  createdAt: number;
}

/** An entity to create or resolve to an existing one. */
export interface EntityInput {
  name: string;
  type: string;
  aliases?: string[];
  /** For resolution by similarity when names differ ("NYC" and "New York City"). */
  embedding?: number[];
}

/** Where a fact came from. */
export interface Provenance {
  episodeId?: string;
  documentId?: string;
  runId?: string;
  taskId?: string;
}

/**
 * A fact: subject —predicate→ object (an entity) or value (a literal), true from `validFrom` until
 * `validTo` (null: still true), recorded at `recordedAt`. Facts are never deleted by contradiction:
 * the old one is closed, so history answers "what was true on date X".
 */
export interface Relation {
  id: string;
  subjectId: string;
  predicate: string;
  objectId?: string;
  value?: JsonPrimitive;
  validFrom: number;
  validTo: number | null;
  recordedAt: number;
  provenance: Provenance;
  scope: Scope;
}

/** A fact to record; its subject and object may be new entities, created on the way in. */
export interface RelationInput {
  /** Entity ids, or entity inputs resolved (and created when new) on the way in. */
  subject: string | EntityInput;
  predicate: string;
  object?: string | EntityInput;
  value?: JsonPrimitive;
  /** Default: now. */
  validFrom?: number;
  /**
   * A single-valued predicate (lives_in, ceo_of) has one current object per subject: a new fact
   * with a different object closes the current one at the new fact's `validFrom`.
   */
  singleValued?: boolean;
  provenance?: Provenance;
}

/** The scope a graph query reads in, and the time its facts must be true at. */
export interface GraphQueryOptions {
  scope: Scope;
  /** Facts true at this time (ms since epoch); default now. */
  asOf?: number;
}

/** The entities around one entity and the facts that connect them. */
export interface Neighbourhood {
  entities: Entity[];
  relations: Relation[];
}

/**
 * A temporal knowledge graph inside scopes. Implementations: embedded (SQLite) and Neo4j
 * (parameterised Cypher only). Every read and write is confined to the caller's scope.
 */
export interface GraphStore {
  /** Creates entities or returns the existing ones they resolve to, in input order. */
  upsertEntities(entities: readonly EntityInput[], scope: Scope): Promise<Entity[]>;
  /** Records facts; contradictions of single-valued predicates close the old fact. */
  upsertRelations(relations: readonly RelationInput[], scope: Scope): Promise<Relation[]>;
  /** Entities whose name or alias matches (normalised), most exact first. */
  findEntities(name: string, options: { scope: Scope; limit?: number }): Promise<Entity[]>;
  /** Facts about an entity (as subject or object) true at `asOf`. */
  factsAbout(entityId: string, options: GraphQueryOptions): Promise<Relation[]>;
  /** Entities and facts within `hops` (default 1, at most 4) of an entity, true at `asOf`. */
  neighbours(entityId: string, options: GraphQueryOptions & { hops?: number }): Promise<Neighbourhood>;
  /** The shortest chain of facts between two entities true at `asOf`, or null (at most `maxHops`, default 4). */
  shortestPath(
    fromId: string,
    toId: string,
    options: GraphQueryOptions & { maxHops?: number },
  ): Promise<Relation[] | null>;
  /** Closes a fact at `at` (default now) without deleting it. */
  invalidate(relationId: string, options: { scope: Scope; at?: number }): Promise<void>;
  /** Entities and facts (closed ones included) visible in `scope`; without one, in every scope. */
  count(scope?: Scope): Promise<{ entities: number; relations: number }>;
  /** Releases what the store holds open, such as a Neo4j driver. */
  close(): Promise<void>;
}
