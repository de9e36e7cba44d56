import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { CadreError } from '../src/core/index.js';
import type { Embedder } from '../src/models/embedder.js';
import {
  checkOutcome,
  checkPlanInput,
  embedGoal,
  normaliseGoal,
  rankTemplates,
  sameScope,
  type StoredTemplate,
} from './in-memory-procedural-store.js';
import type { PlanTemplate, ProceduralStore, TemplateMatch } from './procedural-store.js';
import { checkScope, type Scope } from './scope.js';
import { float32Blob, float32FromBlob } from './vectors.js';

/** Most templates compared per match: ranking is done in JS, so bound the work. */
const candidateLimit = 5000;

interface ProcedureRow {
  id: string;
  tenant: string;
  user: string | null;
  agent: string | null;
  run: string | null;
  goal: string;
  goal_key: string;
  embedding: Buffer;
  embedder: string;
  graph: string;
  successes: number;
  failures: number;
  created_at: number;
  last_used_at: number;
}

type ScopeParams = { tenant: string; user: string | null; agent: string | null; run: string | null };

const params = (s: Scope): ScopeParams => ({
  tenant: s.tenant,
  user: s.user ?? null,
  agent: s.agent ?? null,
  run: s.run ?? null,
});
const visible = `tenant = @tenant AND (user IS NULL OR user = @user) AND (agent IS NULL OR agent = @agent)
  AND (run IS NULL OR run = @run)`;

function fromRow(r: ProcedureRow): StoredTemplate {
  const scope: Scope = {
    tenant: r.tenant,
    ...(r.user ? { user: r.user } : {}),
    ...(r.agent ? { agent: r.agent } : {}),
    ...(r.run ? { run: r.run } : {}),
  };
  const template: PlanTemplate = {
    id: r.id,
    goal: r.goal,
    graph: JSON.parse(r.graph),
    scope,
    successes: r.successes,
    failures: r.failures,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  };
  // Copy before viewing: a Buffer from SQLite need not be 4-byte aligned.
  return { template, embedding: float32FromBlob(r.embedding), embedder: r.embedder };
}

/**
 * A ProceduralStore in SQLite: plans that worked outlive the process and are matched by goal
 * embedding. Behaves like InMemoryProceduralStore. The caller owns (opens and closes) the connection.
 */
export class SqliteProceduralStore implements ProceduralStore {
  private readonly embedder: Embedder;
  private readonly sameGoal: Statement<[ScopeParams & { key: string }], ProcedureRow>;
  private readonly candidates: Statement<[ScopeParams & { embedder: string; limit: number }], ProcedureRow>;
  private readonly byId: Statement<[ScopeParams & { id: string }], ProcedureRow>;
  private readonly insert: Statement<[ProcedureRow]>;
  private readonly bump: Statement<[{ id: string; successes: number; failures: number; now: number }]>;
  private readonly total: Statement<[], { n: number }>;
  private readonly totalVisible: Statement<[ScopeParams], { n: number }>;
  private readonly saveSync: (row: ProcedureRow, scope: Scope) => PlanTemplate;

  constructor(
    private readonly db: Database,
    options: { embedder: Embedder },
  ) {
    this.embedder = options.embedder;
    db.exec(`CREATE TABLE IF NOT EXISTS procedures (
      id TEXT PRIMARY KEY, tenant TEXT NOT NULL, user TEXT, agent TEXT, run TEXT,
      goal TEXT NOT NULL, goal_key TEXT NOT NULL, embedding BLOB NOT NULL, embedder TEXT NOT NULL, graph TEXT NOT NULL,
      successes INTEGER NOT NULL, failures INTEGER NOT NULL, created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS procedures_tenant_goal_key ON procedures (tenant, goal_key);
      CREATE INDEX IF NOT EXISTS procedures_tenant_last_used ON procedures (tenant, last_used_at);`);
    this.sameGoal = db.prepare(`SELECT * FROM procedures WHERE ${visible} AND goal_key = @key ORDER BY created_at, id`);
    this.candidates = db.prepare(`SELECT * FROM procedures WHERE ${visible} AND embedder = @embedder
      ORDER BY last_used_at DESC LIMIT @limit`);
    this.byId = db.prepare(`SELECT * FROM procedures WHERE ${visible} AND id = @id`);
    this.insert = db.prepare(`INSERT INTO procedures VALUES (@id, @tenant, @user, @agent, @run, @goal, @goal_key,
      @embedding, @embedder, @graph, @successes, @failures, @created_at, @last_used_at)`);
    this.bump = db.prepare(`UPDATE procedures SET successes = successes + @successes, failures = failures + @failures,
      last_used_at = @now WHERE id = @id`);
    this.total = db.prepare('SELECT COUNT(*) AS n FROM procedures');
    this.totalVisible = db.prepare(`SELECT COUNT(*) AS n FROM procedures WHERE ${visible}`);
    // One transaction, so two processes saving the same goal end with one template, not two.
    this.saveSync = db.transaction(
      (row: ProcedureRow, scope: Scope) => this.countSuccessOnSame(row.goal, scope) ?? this.insertRow(row),
    );
  }

  async save(input: { goal: string; graph: unknown; scope: Scope }): Promise<PlanTemplate> {
    const { scope, graphJson } = checkPlanInput(input);
    const known = this.db.transaction(() => this.countSuccessOnSame(input.goal, scope))();
    if (known) return known;
    const embedding = await embedGoal(this.embedder, input.goal);
    const now = Date.now();
    return this.saveSync(
      {
        id: `plan_${randomUUID()}`,
        ...params(scope),
        goal: input.goal,
        goal_key: normaliseGoal(input.goal),
        embedding: float32Blob(embedding),
        embedder: this.embedder.name,
        graph: graphJson,
        successes: 1,
        failures: 0,
        created_at: now,
        last_used_at: now,
      },
      scope,
    );
  }

  async match(goal: string, options: { scope: Scope; minSimilarity?: number; k?: number }): Promise<TemplateMatch[]> {
    const scope = checkScope(options.scope);
    const query = await embedGoal(this.embedder, goal);
    const rows = this.candidates.all({ ...params(scope), embedder: this.embedder.name, limit: candidateLimit });
    return rankTemplates(query, rows.map(fromRow), this.embedder.name, options);
  }

  async recordOutcome(id: string, outcome: 'success' | 'failure', scope: Scope): Promise<void> {
    const checked = checkOutcome(outcome, scope);
    if (!this.byId.get({ ...params(checked), id })) {
      throw new CadreError('input_invalid', `No plan template ${id} in scope`, { details: { id, scope } });
    }
    this.bump.run({
      id,
      successes: outcome === 'success' ? 1 : 0,
      failures: outcome === 'failure' ? 1 : 0,
      now: Date.now(),
    });
  }

  async count(scope?: Scope): Promise<number> {
    return scope === undefined ? this.total.get()!.n : this.totalVisible.get(params(checkScope(scope)))!.n;
  }

  private countSuccessOnSame(goal: string, scope: Scope): PlanTemplate | undefined {
    const same = this.sameGoal.all({ ...params(scope), key: normaliseGoal(goal) }).map(fromRow);
    const existing = same.find((s) => sameScope(s.template.scope, scope)) ?? same[0];
    if (!existing) return undefined;
    const now = Date.now();
    this.bump.run({ id: existing.template.id, successes: 1, failures: 0, now });
    return { ...existing.template, successes: existing.template.successes + 1, lastUsedAt: now };
  }

  private insertRow(row: ProcedureRow): PlanTemplate {
    this.insert.run(row);
    return fromRow(row).template;
  }
}
