import type Database from 'better-sqlite3';
import { createId, type Job } from '../core/index.js';

/** What a job's webhook is told about. */
export type WebhookEvent = 'job.completed' | 'job.failed' | 'job.dead' | 'job.waiting';

/** One message to deliver: the same id (`webhook-id`) on every attempt. */
export interface WebhookMessage {
  id: string;
  jobId: string;
  url: string;
  /** The JSON body, exactly as signed and sent. */
  body: string;
  attempts: number;
  nextAt: number;
  state: 'pending' | 'delivered' | 'failed';
  lastError?: string;
}

interface Row {
  id: string;
  job_id: string;
  url: string;
  body: string;
  attempts: number;
  next_at: number;
  state: WebhookMessage['state'];
  last_error: string | null;
}

/**
 * Webhook messages waiting to be delivered, in cadre's database: the embedded queue adds a message in
 * the same transaction that settles its job, so a worker killed between the two loses nothing; the
 * BullMQ queue adds it held back just before its settle and lets it go once the settle is done (see
 * {@link WebhookOutbox.add}). Delivered at least once from here, with backoff, by whichever worker
 * claims it.
 */
export class WebhookOutbox {
  private readonly statements;

  constructor(db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS webhook_outbox (
      id TEXT PRIMARY KEY, job_id TEXT NOT NULL, url TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL,
      next_at INTEGER NOT NULL, state TEXT NOT NULL, last_error TEXT, created_at INTEGER NOT NULL
    ) WITHOUT ROWID`);
    db.exec('CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (state, next_at)');
    this.statements = {
      insert: db.prepare(
        "INSERT INTO webhook_outbox (id, job_id, url, body, attempts, next_at, state, created_at) VALUES (?, ?, ?, ?, 0, ?, 'pending', ?)",
      ),
      due: db.prepare<[number, number], Row>(
        "SELECT * FROM webhook_outbox WHERE state = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?",
      ),
      claim: db.prepare(
        "UPDATE webhook_outbox SET attempts = attempts + 1, next_at = ? WHERE id = ? AND next_at = ? AND state = 'pending'",
      ),
      settle: db.prepare('UPDATE webhook_outbox SET state = ?, next_at = ?, last_error = ? WHERE id = ?'),
      forJob: db.prepare<[string], Row>('SELECT * FROM webhook_outbox WHERE job_id = ? ORDER BY created_at, id'),
      // Only a message no worker has tried yet can still be let go early or taken back.
      release: db.prepare("UPDATE webhook_outbox SET next_at = ? WHERE id = ? AND state = 'pending' AND attempts = 0"),
      discard: db.prepare('DELETE FROM webhook_outbox WHERE id = ? AND attempts = 0'),
    };
  }

  /**
   * Adds the message for a job's new state and returns its id: inside the transaction that settles
   * the job, or, where the settle happens elsewhere (Redis), before it with `holdMs`, then
   * {@link release}d once the settle is done or {@link discard}ed when it was refused. A process
   * killed in between leaves the message to be delivered after `holdMs`: the attempt it reports did
   * end that way, even if the next worker then settles the job again.
   */
  add(job: Job, event: WebhookEvent, now: number, holdMs = 0): string {
    const id = createId('msg');
    const data = {
      jobId: job.id,
      runId: job.runId,
      ...(job.team !== undefined ? { team: job.team } : { agent: job.agent }),
      state: job.state,
      attempts: job.attempts,
      ...(job.result ? { result: job.result } : {}),
      ...(job.error ? { error: job.error } : {}),
    };
    const body = JSON.stringify({ type: event, timestamp: new Date(now).toISOString(), data });
    this.statements.insert.run(id, job.id, job.webhook!, body, now + holdMs, now);
    return id;
  }

  /** Makes a held message due now. */
  release(id: string, now: number): void {
    this.statements.release.run(now, id);
  }

  /** Removes a held message whose settle did not happen. */
  discard(id: string): void {
    this.statements.discard.run(id);
  }

  /**
   * Claims up to `limit` due messages for `holdMs` (another worker takes a claimed message only when
   * that time has passed), counting the attempt.
   */
  claimDue(now: number, limit: number, holdMs: number): WebhookMessage[] {
    const claimed: WebhookMessage[] = [];
    for (const row of this.statements.due.all(now, limit))
      if (this.statements.claim.run(now + holdMs, row.id, row.next_at).changes === 1)
        claimed.push(toMessage({ ...row, attempts: row.attempts + 1 }));
    return claimed;
  }

  /** Marks a message delivered (`at` unused but kept as the time), or failed for good. */
  finish(id: string, state: 'delivered' | 'failed', at: number, error?: string): void {
    this.statements.settle.run(state, at, error ?? null, id);
  }

  /** Puts a message back to be tried at `at`. */
  retryAt(id: string, at: number, error: string): void {
    this.statements.settle.run('pending', at, error, id);
  }

  /** A job's messages, oldest first. */
  forJob(jobId: string): WebhookMessage[] {
    return this.statements.forJob.all(jobId).map(toMessage);
  }
}

function toMessage(row: Row): WebhookMessage {
  return {
    id: row.id,
    jobId: row.job_id,
    url: row.url,
    body: row.body,
    attempts: row.attempts,
    nextAt: row.next_at,
    state: row.state,
    ...(row.last_error !== null ? { lastError: row.last_error } : {}),
  };
}
