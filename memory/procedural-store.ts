import type { Scope } from './scope.js';

/** A plan that worked, kept as a template for similar goals, with how it has fared since. */
export interface PlanTemplate {
  id: string;
  goal: string;
  /** The task graph as JSON (planners' TaskGraph). */
  graph: unknown;
  scope: Scope;
  successes: number;
  failures: number;
  createdAt: number;
  lastUsedAt: number;
}

/** A stored template that matched a goal, and how closely. */
export interface TemplateMatch {
  template: PlanTemplate;
  /** Similarity of the goals, 0..1. */
  similarity: number;
}

/** Procedural memory: successful task graphs keyed by goal embedding. */
export interface ProceduralStore {
  /** Stores a plan for a goal (or counts another success for an identical goal). */
  save(input: { goal: string; graph: unknown; scope: Scope }): Promise<PlanTemplate>;
  /** The closest templates for a goal in scope with similarity ≥ `minSimilarity` (default 0.85). */
  match(goal: string, options: { scope: Scope; minSimilarity?: number; k?: number }): Promise<TemplateMatch[]>;
  /** Records how a reused template fared. */
  recordOutcome(id: string, outcome: 'success' | 'failure', scope: Scope): Promise<void>;
  /** Templates visible in `scope`; without one, in every scope. */
  count(scope?: Scope): Promise<number>;
}
