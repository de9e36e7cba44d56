import type { Database, Statement } from 'better-sqlite3';
import type { Embedder } from '../src/models/embedder.js';
import { embedIfAllowed } from '../src/models/private-embedder.js';
import type { Episode, EpisodeStore, RecallOptions } from './episode-store.js';
import { defaultScope } from './episode-store.js';
import {
  episodeSimilarity,
  prepareEpisode,
  recallScorer,
  withScope,
  type StoredEpisode,
} from './in-memory-episode-store.js';
import { checkScope, type Scope } from './scope.js';
import { float32Blob, float32FromBlob } from './vectors.js';

/** Most rows read as recall candidates: ranking is done in JS, so bound the work per recall. */
const candidateLimit = 2000;

interface EpisodeRow {
  id: string;
  run_id: string;
  task_id: string;
  task: string;
  outcome: 'success' | 'failure';
  lesson: string | null;
  importance: number;
  created_at: number;
  tenant: string;
  user: string | null;
  agent: string | null;
  run: string | null;
  trajectory: string | null;
  embedding: Buffer | null;
  embedder: string | null;
}

/** What ranking needs of a candidate row. */
interface CandidateRow {
  key: number;
  embedding: Buffer | null;
  embedder: string | null;
  importance: number;
  created_at: number;
  task: string;
}

type ScopeParams = { tenant: string; user: string | null; agent: string | null; run: string | null; limit: number };

/** Columns added after the first release; an older table gets them with ALTER TABLE on open. */
const laterColumns: Record<string, string> = {
  tenant: "TEXT NOT NULL DEFAULT 'default'",
  user: 'TEXT',
  agent: 'TEXT',
  run: 'TEXT',
  trajectory: 'TEXT',
  embedding: 'BLOB',
  embedder: 'TEXT',
};

function fromRow(r: EpisodeRow): StoredEpisode {
  const scope: Scope = {
    tenant: r.tenant,
    ...(r.user ? { user: r.user } : {}),
    ...(r.agent ? { agent: r.agent } : {}),
    ...(r.run ? { run: r.run } : {}),
  };
  const episode = withScope(
    {
      id: r.id,
      runId: r.run_id,
      taskId: r.task_id,
      task: r.task,
      outcome: r.outcome,
      ...(r.lesson !== null ? { lesson: r.lesson } : {}),
      importance: r.importance,
      createdAt: r.created_at,
      ...(r.trajectory !== null ? { trajectory: r.trajectory } : {}),
    },
    scope,
  );
  return {
    episode,
    scope,
    ...(r.embedding ? { embedding: float32FromBlob(r.embedding) } : {}),
    ...(r.embedder ? { embedder: r.embedder } : {}),
  };
}

/**
 * An EpisodeStore in SQLite, so lessons outlive the process. Ranks exactly like
 * InMemoryEpisodeStore, over the newest 2,000 visible rows (older ones are not candidates). The caller owns (opens and closes) the connection.
 */
export class SqliteEpisodeStore implements EpisodeStore {
  private readonly insert: Statement<[EpisodeRow]>;
  private readonly newest: Statement<[ScopeParams], CandidateRow>;
  private readonly newestWithLesson: Statement<[ScopeParams], CandidateRow>;
  private readonly byKeys: Statement<[string], EpisodeRow & { key: number }>;
  private readonly total: Statement<[], { n: number }>;
  private readonly embedder: Embedder | undefined;

  constructor(db: Database, options: { embedder?: Embedder } = {}) {
    this.embedder = options.embedder;
    db.exec(`CREATE TABLE IF NOT EXISTS episodes (
      id TEXT PRIMARY KEY, run_id TEXT NOT NULL, task_id TEXT NOT NULL, task TEXT NOT NULL,
      outcome TEXT NOT NULL, lesson TEXT, importance REAL NOT NULL, created_at INTEGER NOT NULL);`);
    const have = new Set(
      db
        .prepare<[], { name: string }>('PRAGMA table_info(episodes)')
        .all()
        .map((c) => c.name),
    );
    for (const [name, type] of Object.entries(laterColumns)) {
      if (!have.has(name)) db.exec(`ALTER TABLE episodes ADD COLUMN ${name} ${type}`);
    }
    db.exec(`CREATE INDEX IF NOT EXISTS episodes_created_at ON episodes (created_at);
      CREATE INDEX IF NOT EXISTS episodes_tenant_created_at ON episodes (tenant, created_at);`);
    this.insert = db.prepare(`INSERT OR REPLACE INTO episodes
      (id, run_id, task_id, task, outcome, lesson, importance, created_at, tenant, user, agent, run, trajectory, embedding, embedder)
      VALUES (@id, @run_id, @task_id, @task, @outcome, @lesson, @importance, @created_at,
        @tenant, @user, @agent, @run, @trajectory, @embedding, @embedder)`);
    // Visibility in SQL (see isVisible) so other tenants' rows do not use up the candidate window.
    const visible = `tenant = @tenant AND (user IS NULL OR user = @user) AND (agent IS NULL OR agent = @agent)
      AND (run IS NULL OR run = @run)`;
    // Ranking reads only what the score needs; whole rows are read for the winners alone.
    const lean = 'rowid AS key, embedding, embedder, importance, created_at, task';
    this.newest = db.prepare(`SELECT ${lean} FROM episodes WHERE ${visible} ORDER BY created_at DESC LIMIT @limit`);
    this.newestWithLesson = db.prepare(`SELECT ${lean} FROM episodes WHERE ${visible}
      AND lesson IS NOT NULL AND lesson <> '' ORDER BY created_at DESC LIMIT @limit`);
    this.byKeys = db.prepare('SELECT rowid AS key, * FROM episodes WHERE rowid IN (SELECT value FROM json_each(?))');
    this.total = db.prepare('SELECT COUNT(*) AS n FROM episodes');
  }

  async add(e: Episode): Promise<void> {
    const { episode, scope, embedding, embedder } = await prepareEpisode(e, this.embedder);
    this.insert.run({
      id: episode.id,
      run_id: episode.runId,
      task_id: episode.taskId,
      task: episode.task,
      outcome: episode.outcome,
      lesson: episode.lesson ?? null,
      importance: episode.importance,
      created_at: episode.createdAt,
      tenant: scope.tenant,
      user: scope.user ?? null,
      agent: scope.agent ?? null,
      run: scope.run ?? null,
      trajectory: episode.trajectory ?? null,
      embedding: embedding ? float32Blob(embedding) : null,
      embedder: embedder ?? null,
    });
  }

  async recall(task: string, options: RecallOptions = {}): Promise<Episode[]> {
    const scope = checkScope(options.scope ?? defaultScope);
    const params = {
      tenant: scope.tenant,
      user: scope.user ?? null,
      agent: scope.agent ?? null,
      run: scope.run ?? null,
      limit: candidateLimit,
    };
    const score = recallScorer(options);
    const query = this.embedder ? await embedIfAllowed(this.embedder, task) : undefined;
    const scored: Array<{ key: number; score: number; createdAt: number }> = [];
    for (const c of (options.lessonsOnly ? this.newestWithLesson : this.newest).all(params)) {
      const sim = episodeSimilarity(task, query, this.embedder?.name, {
        task: c.task,
        ...(c.embedding ? { embedding: float32FromBlob(c.embedding) } : {}),
        ...(c.embedder ? { embedder: c.embedder } : {}),
      });
      if (sim > 0) scored.push({ key: c.key, score: score(sim, c.created_at, c.importance), createdAt: c.created_at });
    }
    const top = scored.sort((a, b) => b.score - a.score || b.createdAt - a.createdAt).slice(0, options.k ?? 3);
    if (top.length === 0) return [];
    const rows = new Map(this.byKeys.all(JSON.stringify(top.map((t) => t.key))).map((r) => [r.key, r]));
    return top.map((t) => fromRow(rows.get(t.key)!).episode);
  }

  async count(): Promise<number> {
    return this.total.get()!.n;
  }
}
