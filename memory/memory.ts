import { createHash } from 'node:crypto';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { Embedder } from '../src/models/embedder.js';
import { privateEmbedder } from '../src/models/private-embedder.js';
import { refusalOf } from '../src/models/privacy-errors.js';
import type { EpisodeStore } from './episode-store.js';
import { extractFacts, type ExtractFactsOptions } from './graph/extract-facts.js';
import type { GraphStore, Provenance, Relation } from './graph-store.js';
import type { ProceduralStore } from './procedural-store.js';
import { assembleContext, type MemoryTier, type RecallItem, type RecallResult } from './recall-context.js';
import { checkScope, type Scope } from './scope.js';
import type { JsonPrimitive, VectorStore } from './vector-store.js';

/** The stores behind a {@link Memory}, one per tier, and the embedder they share. */
export interface MemoryStores {
  embedder: Embedder;
  vector: VectorStore;
  graph: GraphStore;
  episodes: EpisodeStore;
  procedures: ProceduralStore;
}

/** Where and how {@link Memory.remember} stores a text. */
export interface RememberOptions {
  /** Default: the memory's own scope. */
  scope?: Scope;
  /** What it is: `note`, `task_result`, `document`... stored and filterable. */
  kind?: string;
  /** Where it came from, e.g. `run_x/task_y`; shown with the item when recalled. */
  source?: string;
  metadata?: Record<string, JsonPrimitive>;
  /** Default: derived from scope and text, so remembering the same thing twice keeps one copy. */
  id?: string;
}

/** Where {@link Memory.recall} searches and how large a context block it may return. */
export interface MemoryRecallOptions {
  /** Scopes to search, each enforced by the stores; default the memory's own scope. */
  scopes?: Scope[];
  /** Most tokens the context block may use. Default 800. */
  tokenBudget?: number;
  /** Candidates per tier and scope. Default 8. */
  k?: number;
  /** Tiers to search. Default all four. */
  tiers?: MemoryTier[];
  /** Graph facts true at this time. Default now. */
  asOf?: number;
}

const allTiers: MemoryTier[] = ['vector', 'episodic', 'graph', 'procedural'];

/**
 * One memory over five tiers — notes and results (vector), lessons (episodic), facts (knowledge
 * graph), plans that worked (procedural), and per-agent conversation windows (ShortTermMemory) —
 * with one `recall` that searches them together inside the caller's scopes.
 */
export class Memory {
  readonly scope: Scope;

  constructor(
    readonly stores: MemoryStores,
    options: { scope: Scope; close?: () => Promise<void> },
  ) {
    // Also when the stores were built by hand: memory's own embed calls obey privacy.
    this.stores = { ...stores, embedder: privateEmbedder(stores.embedder) };
    this.scope = checkScope(options.scope);
    this.closeStores = options.close;
  }

  private readonly closeStores?: () => Promise<void>;

  /**
   * The same stores seen from a narrower scope: `narrow`'s levels (user, agent, run) replace the
   * memory's own, the tenant stays. What it remembers is kept there, and it recalls only what that
   * scope may see. Closing it leaves the stores open: they belong to this memory.
   */
  within(narrow: Omit<Scope, 'tenant'>): Memory {
    return new Memory(this.stores, { scope: { ...this.scope, ...narrow } });
  }

  /** Episodic memory: lessons from earlier attempts. */
  get episodes(): EpisodeStore {
    return this.stores.episodes;
  }

  /** The knowledge graph of facts. */
  get graph(): GraphStore {
    return this.stores.graph;
  }

  /** Procedural memory: plans that worked. */
  get procedures(): ProceduralStore {
    return this.stores.procedures;
  }

  /**
   * Stores a text in vector memory; the same text in the same scope is stored once. Throws
   * `privacy_blocked` when the text may not reach the (cloud) embedder.
   */
  async remember(text: string, options: RememberOptions = {}): Promise<{ id: string }> {
    const scope = checkScope(options.scope ?? this.scope);
    const id =
      options.id ??
      createHash('sha256')
        .update(JSON.stringify([scope, text]))
        .digest('hex')
        .slice(0, 32);
    const [vector] = await this.stores.embedder.embed([text]);
    const payload = {
      kind: options.kind ?? 'note',
      at: Date.now(),
      ...(options.source ? { source: options.source } : {}),
      ...options.metadata,
    };
    await this.stores.vector.upsert([{ id, vector: vector!, scope, text, payload }]);
    return { id };
  }

  /** Reads facts out of a text with a model and records them in the knowledge graph. */
  async learnFacts(
    text: string,
    options: { model: BaseChatModel; scope?: Scope; provenance?: Provenance } & Pick<
      ExtractFactsOptions,
      'signal' | 'beforeModelCall' | 'afterModelCall'
    >,
  ): Promise<Relation[]> {
    const { scope: _scope, provenance: _provenance, ...extract } = options;
    const facts = await extractFacts({ ...extract, text });
    if (facts.length === 0) return [];
    const provenance = options.provenance ?? {};
    return this.stores.graph.upsertRelations(
      facts.map((f) => ({ ...f, provenance: { ...provenance, ...f.provenance } })),
      options.scope ?? this.scope,
    );
  }

  /**
   * Searches every tier in every scope and returns one ranked, de-duplicated block within the budget.
   * A tier whose embedding privacy withholds is left out, and `withheld` says why.
   */
  async recall(query: string, options: MemoryRecallOptions = {}): Promise<RecallResult> {
    const scopes = (options.scopes ?? [this.scope]).map(checkScope);
    const tiers = new Set(options.tiers ?? allTiers);
    const k = options.k ?? 8;
    let withheld: RecallResult['withheld'];
    const unlessWithheld = <T>(work: Promise<T[]>) =>
      work.catch((error: unknown): T[] => {
        const refusal = refusalOf(error);
        if (!refusal) throw error;
        withheld ??= refusal;
        return [];
      });
    const [vector] = tiers.has('vector') ? await unlessWithheld(this.stores.embedder.embed([query])) : [undefined];
    const found = await Promise.all(
      scopes.flatMap((scope) => [
        tiers.has('vector') && vector ? this.fromVectors(vector, scope, k) : [],
        tiers.has('episodic') ? unlessWithheld(this.fromEpisodes(query, scope, k)) : [],
        tiers.has('graph') ? this.fromGraph(query, scope, k, options.asOf) : [],
        tiers.has('procedural') ? unlessWithheld(this.fromProcedures(query, scope)) : [],
      ]),
    );
    return { ...assembleContext(found.flat(), options.tokenBudget ?? 800), ...(withheld ? { withheld } : {}) };
  }

  /** How much each tier holds in a scope (all scopes when omitted). */
  async stats(scope?: Scope) {
    const checked = scope ? checkScope(scope) : undefined;
    const [vectors, graph, procedures, episodes] = await Promise.all([
      this.stores.vector.count(checked),
      this.stores.graph.count(checked),
      this.stores.procedures.count(checked),
      this.stores.episodes.count(),
    ]);
    return {
      vectors,
      entities: graph.entities,
      relations: graph.relations,
      procedures,
      episodes,
      embedder: this.stores.embedder.name,
    };
  }

  /** Closes the stores when this memory opened them (`createMemory`); stores passed in stay open. */
  async close(): Promise<void> {
    await this.closeStores?.();
  }

  private async fromVectors(vector: number[], scope: Scope, k: number): Promise<RecallItem[]> {
    const hits = await this.stores.vector.query(vector, { scope, k });
    return hits
      .filter((h) => h.text)
      .map((h) => ({
        tier: 'vector' as const,
        id: h.id,
        text: h.text!,
        score: h.score,
        scope: h.scope,
        ...(typeof h.payload.source === 'string' ? { source: h.payload.source } : {}),
        ...(typeof h.payload.at === 'number' ? { at: h.payload.at } : {}),
      }));
  }

  private async fromEpisodes(query: string, scope: Scope, k: number): Promise<RecallItem[]> {
    // Lessons and failures teach something; plain successes are already in vector memory as results.
    const episodes = (await this.stores.episodes.recall(query, { k: k * 2, scope }))
      .filter((e) => e.lesson || e.outcome === 'failure')
      .slice(0, k);
    return episodes.map((e, i) => ({
      tier: 'episodic' as const,
      id: e.id,
      scope: e.scope ?? scope,
      at: e.createdAt,
      source: `${e.runId}/${e.taskId}`,
      text: e.lesson
        ? `Lesson from "${oneLine(e.task)}": ${e.lesson}`
        : `${e.outcome === 'success' ? 'Succeeded' : 'Failed'} at "${oneLine(e.task)}"`,
      // Ranked by the store (similarity, recency, importance); spread below the best vector hits.
      score: 0.85 - i * (0.4 / Math.max(1, episodes.length)),
    }));
  }

  private async fromGraph(query: string, scope: Scope, k: number, asOf?: number): Promise<RecallItem[]> {
    const names = candidateNames(query);
    const entities = (
      await Promise.all(names.map((name) => this.stores.graph.findEntities(name, { scope, limit: 2 })))
    ).flat();
    const unique = [...new Map(entities.map((e) => [e.id, e])).values()].slice(0, 4);
    const items: RecallItem[] = [];
    for (const entity of unique) {
      // One hop gives the entity's facts and the names of what they point at, in one call.
      const around = await this.stores.graph.neighbours(entity.id, {
        scope,
        hops: 1,
        ...(asOf !== undefined ? { asOf } : {}),
      });
      const named = new Map(around.entities.map((e) => [e.id, e.name]));
      const facts = around.relations
        .filter((r) => r.subjectId === entity.id || r.objectId === entity.id)
        .sort((a, b) => b.validFrom - a.validFrom);
      for (const fact of facts.slice(0, k)) {
        const object = fact.objectId ? (named.get(fact.objectId) ?? fact.objectId) : String(fact.value);
        items.push({
          tier: 'graph',
          id: fact.id,
          scope: fact.scope,
          at: fact.validFrom,
          score: 0.8,
          text: `${named.get(fact.subjectId) ?? fact.subjectId} ${fact.predicate.replace(/_/g, ' ')} ${object} (since ${new Date(fact.validFrom).toISOString().slice(0, 10)})`,
          ...(fact.provenance.runId
            ? { source: [fact.provenance.runId, fact.provenance.taskId].filter(Boolean).join('/') }
            : {}),
        });
      }
    }
    return items;
  }

  private async fromProcedures(query: string, scope: Scope): Promise<RecallItem[]> {
    const matches = await this.stores.procedures.match(query, { scope, k: 1 });
    return matches.map(({ template, similarity }) => ({
      tier: 'procedural' as const,
      id: template.id,
      scope: template.scope,
      at: template.lastUsedAt,
      score: similarity * 0.9,
      text: `A plan worked for a similar goal ("${oneLine(template.goal)}"): ${describePlan(template.graph)} (${template.successes} successes, ${template.failures} failures)`,
    }));
  }
}

const oneLine = (text: string, max = 120) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

function describePlan(graph: unknown): string {
  const tasks = (graph as { tasks?: Array<{ id: string; role: string }> }).tasks ?? [];
  return tasks.map((t) => `${t.id} [${t.role}]`).join(', ');
}

/** Phrases in a query that may name entities: capitalised runs and quoted text, then longer words. */
function candidateNames(query: string): string[] {
  const quoted = [...query.matchAll(/["'`]([^"'`]{2,60})["'`]/g)].map((m) => m[1]!);
  const capitalised = [...query.matchAll(/\b[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*/g)].map((m) => m[0]);
  const words = query.match(/\b[a-zA-Z][\w-]{3,}\b/g) ?? [];
  return [...new Set([...quoted, ...capitalised, ...words])].slice(0, 8);
}
