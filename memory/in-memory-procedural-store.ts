import { randomUUID } from 'node:crypto';
import { CadreError } from '../src/core/index.js';
import type { Embedder } from '../src/models/embedder.js';
import { cosineSimilarity } from './vectors.js';
import type { PlanTemplate, ProceduralStore, TemplateMatch } from './procedural-store.js';
import { checkScope, isVisible, type Scope } from './scope.js';

/** The goal similarity a template needs to match when a query sets none. */
export const defaultMinSimilarity = 0.85;
const defaultK = 5;
// Similarities closer than this count as equal, so float noise does not hide the success rate.
const similarityEpsilon = 1e-9;

/** The text two goals are compared on for "the same goal": lower case, words only, single spaces. */
export function normaliseGoal(goal: string): string {
  return (goal.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).join(' ');
}

/** Laplace-smoothed success rate: an untried template starts at 1/2, not at 0 or 1. */
export function successRate(t: Pick<PlanTemplate, 'successes' | 'failures'>): number {
  return (t.successes + 1) / (t.successes + t.failures + 2);
}

/** Checks `save` input; returns the graph as JSON so every store keeps (and returns) the same value. */
export function checkPlanInput(input: { goal: string; graph: unknown; scope: Scope }): {
  scope: Scope;
  graphJson: string;
} {
  const scope = checkScope(input.scope);
  if (typeof input.goal !== 'string' || normaliseGoal(input.goal) === '') {
    throw new CadreError('input_invalid', 'A plan template needs a goal with at least one word');
  }
  const graphJson = JSON.stringify(input.graph) as string | undefined;
  if (graphJson === undefined) throw new CadreError('input_invalid', 'A plan template needs a JSON-serialisable graph');
  return { scope, graphJson };
}

/** Embeds one goal, checking the embedder kept its promise about dimensions. */
export async function embedGoal(embedder: Embedder, goal: string): Promise<number[]> {
  const [vector] = await embedder.embed([goal]);
  if (!vector || vector.length !== embedder.dimensions) {
    throw new CadreError('internal', `Embedder ${embedder.name} returned no ${embedder.dimensions}-dimension vector`);
  }
  return vector;
}

/** Checks `recordOutcome` input; returns the checked scope. */
export function checkOutcome(outcome: string, scope: Scope): Scope {
  if (outcome !== 'success' && outcome !== 'failure') {
    throw new CadreError('input_invalid', `Outcome must be 'success' or 'failure', got ${JSON.stringify(outcome)}`);
  }
  return checkScope(scope);
}

/** A template with its goal vector and the embedder that made it. */
export interface StoredTemplate {
  template: PlanTemplate;
  embedding: ArrayLike<number>;
  embedder: string;
}

/** Orders candidates for `match`: similarity ≥ minimum, then success rate, then most recently used. */
export function rankTemplates(
  query: readonly number[],
  candidates: Iterable<StoredTemplate>,
  embedderName: string,
  options: { scope: Scope; minSimilarity?: number; k?: number },
): TemplateMatch[] {
  const scope = checkScope(options.scope);
  const min = options.minSimilarity ?? defaultMinSimilarity;
  const found: TemplateMatch[] = [];
  for (const c of candidates) {
    // Vectors from another embedder live in another space: comparing them would be noise.
    if (c.embedder !== embedderName || c.embedding.length !== query.length || !isVisible(c.template.scope, scope))
      continue;
    const similarity = cosineSimilarity(query, c.embedding);
    if (similarity >= min) found.push({ template: structuredClone(c.template), similarity });
  }
  return found
    .sort(
      (a, b) =>
        (Math.abs(b.similarity - a.similarity) > similarityEpsilon ? b.similarity - a.similarity : 0) ||
        successRate(b.template) - successRate(a.template) ||
        b.template.lastUsedAt - a.template.lastUsedAt,
    )
    .slice(0, options.k ?? defaultK);
}

/** Prefers a template in exactly the saver's scope, so a private success does not land on a shared plan. */
export const sameScope = (a: Scope, b: Scope) =>
  a.tenant === b.tenant && a.user === b.user && a.agent === b.agent && a.run === b.run;

/** A ProceduralStore in memory, for tests and single processes. */
export class InMemoryProceduralStore implements ProceduralStore {
  private readonly templates = new Map<string, StoredTemplate>();
  private readonly embedder: Embedder;

  constructor(options: { embedder: Embedder }) {
    this.embedder = options.embedder;
  }

  async save(input: { goal: string; graph: unknown; scope: Scope }): Promise<PlanTemplate> {
    const { scope, graphJson } = checkPlanInput(input);
    const known = this.countSuccessOnSame(input.goal, scope);
    if (known) return known;
    const embedding = await embedGoal(this.embedder, input.goal);
    // Another save of the same goal may have landed while this one was embedding.
    const raced = this.countSuccessOnSame(input.goal, scope);
    if (raced) return raced;
    const now = Date.now();
    const template: PlanTemplate = {
      id: `plan_${randomUUID()}`,
      goal: input.goal,
      graph: JSON.parse(graphJson),
      scope,
      successes: 1,
      failures: 0,
      createdAt: now,
      lastUsedAt: now,
    };
    this.templates.set(template.id, { template, embedding, embedder: this.embedder.name });
    return structuredClone(template);
  }

  private countSuccessOnSame(goal: string, scope: Scope): PlanTemplate | undefined {
    const key = normaliseGoal(goal);
    const same = [...this.templates.values()].filter(
      (s) => normaliseGoal(s.template.goal) === key && isVisible(s.template.scope, scope),
    );
    const existing = same.find((s) => sameScope(s.template.scope, scope)) ?? same[0];
    if (!existing) return undefined;
    existing.template.successes += 1;
    existing.template.lastUsedAt = Date.now();
    return structuredClone(existing.template);
  }

  async match(goal: string, options: { scope: Scope; minSimilarity?: number; k?: number }): Promise<TemplateMatch[]> {
    checkScope(options.scope);
    const query = await embedGoal(this.embedder, goal);
    return rankTemplates(query, this.templates.values(), this.embedder.name, options);
  }

  async recordOutcome(id: string, outcome: 'success' | 'failure', scope: Scope): Promise<void> {
    const checked = checkOutcome(outcome, scope);
    const stored = this.templates.get(id);
    if (!stored || !isVisible(stored.template.scope, checked)) {
      throw new CadreError('input_invalid', `No plan template ${id} in scope`, { details: { id, scope } });
    }
    if (outcome === 'success') stored.template.successes += 1;
    else stored.template.failures += 1;
    stored.template.lastUsedAt = Date.now();
  }

  async count(scope?: Scope): Promise<number> {
    if (scope === undefined) return this.templates.size;
    const checked = checkScope(scope);
    return [...this.templates.values()].filter((s) => isVisible(s.template.scope, checked)).length;
  }
}
