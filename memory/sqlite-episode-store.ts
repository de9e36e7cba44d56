import type { Database, Statement } from 'better-sqlite3';
import type { Episode, EpisodeStore, RecallOptions } from './episode-store.js';
import { wordOverlap } from './in-memory-episode-store.js';

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
}

const fromRow = (r: EpisodeRow): Episode => ({
  id: r.id, runId: r.run_id, taskId: r.task_id, task: r.task, outcome: r.outcome,
  ...(r.lesson !== null ? { lesson: r.lesson } : {}), importance: r.importance, createdAt: r.created_at,
});

/**
 * An EpisodeStore in SQLite, so lessons outlive the process. Ranks exactly like
 * InMemoryEpisodeStore, over the newest rows. The caller owns (opens and closes) the connection.
 */
export class SqliteEpisodeStore implements EpisodeStore {
  private readonly insert: Statement<[EpisodeRow]>;
  private readonly newest: Statement<[number], EpisodeRow>;
  private readonly newestWithLesson: Statement<[number], EpisodeRow>;
  private readonly total: Statement<[], { n: number }>;

  constructor(db: Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS episodes (
      id TEXT PRIMARY KEY, run_id TEXT NOT NULL, task_id TEXT NOT NULL, task TEXT NOT NULL,
      outcome TEXT NOT NULL, lesson TEXT, importance REAL NOT NULL, created_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS episodes_created_at ON episodes (created_at);`);
    this.insert = db.prepare(`INSERT OR REPLACE INTO episodes (id, run_id, task_id, task, outcome, lesson, importance, created_at)
      VALUES (@id, @run_id, @task_id, @task, @outcome, @lesson, @importance, @created_at)`);
    this.newest = db.prepare('SELECT * FROM episodes ORDER BY created_at DESC LIMIT ?');
    // Filter lessons in SQL so episodes without one do not use up the candidate window.
    this.newestWithLesson = db.prepare("SELECT * FROM episodes WHERE lesson IS NOT NULL AND lesson <> '' ORDER BY created_at DESC LIMIT ?");
    this.total = db.prepare('SELECT COUNT(*) AS n FROM episodes');
  }

  async add(e: Episode): Promise<void> {
    this.insert.run({
      id: e.id, run_id: e.runId, task_id: e.taskId, task: e.task, outcome: e.outcome,
      lesson: e.lesson ?? null, importance: e.importance, created_at: e.createdAt,
    });
  }

  async recall(task: string, options: RecallOptions = {}): Promise<Episode[]> {
    const rows = (options.lessonsOnly ? this.newestWithLesson : this.newest).all(candidateLimit);
    return rows
      .map((r) => ({ r, score: wordOverlap(task, r.task) * (0.5 + 0.5 * r.importance) }))
      .filter((s) => s.score > 0)
      .sort((a, b) => b.score - a.score || b.r.created_at - a.r.created_at)
      .slice(0, options.k ?? 3)
      .map((s) => fromRow(s.r));
  }

  async count(): Promise<number> {
    return this.total.get()!.n;
  }
}
