import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteRedisPrefix } from '../fixtures/redis-keys.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const appPath = join(root, 'test/fixtures/jobs-app.ts');
const url = process.env.CADRE_REDIS_URL;
if (!url)
  process.stdout.write(
    'cadre jobs / cadre worker on BullMQ skipped: set CADRE_REDIS_URL (e.g. redis://127.0.0.1:6379)\n',
  );

const prefix = `cadre-test-${randomUUID().slice(0, 8)}`;
afterAll(async () => {
  if (url) await deleteRedisPrefix(url, prefix);
});

/**
 * `cadre <args>` in its own process with the queue settings given; the timeout turns a process kept
 * alive by an open connection into a failure (status null).
 */
function cadre(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    // Runs keep to the data folder; plain output, as CI=true would colour it.
    env: { ...process.env, CADRE_DATABASE_PATH: '', CADRE_JOB_QUEUE: '', NO_COLOR: '1', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('cadre jobs and cadre worker on the queue the environment names', () => {
  it.skipIf(!url)(
    'with CADRE_REDIS_URL, jobs add queues on BullMQ, worker --until-idle completes the job and exits, jobs show reads it back',
    () => {
      const data = mkdtempSync(join(tmpdir(), 'cadre-cli-bullmq-'));
      const env = { CADRE_REDIS_URL: url!, CADRE_JOB_QUEUE_PREFIX: prefix };
      const added = cadre(
        ['jobs', 'add', 'echo', 'from the cli', '--agent', '--app', appPath, '--data', data, '--json'],
        env,
      );
      expect(added.status, added.stderr).toBe(0);
      const job = JSON.parse(added.stdout) as { id: string; runId: string; state: string };
      expect(job.state).toBe('queued');
      // The embedded queue of the same folder never saw it.
      const embedded = cadre(['jobs', 'list', '--data', data, '--json'], { ...env, CADRE_JOB_QUEUE: 'sqlite' });
      expect(JSON.parse(embedded.stdout)).toEqual([]);

      const worker = cadre(['worker', '--until-idle', '--app', appPath, '--data', data, '--json'], env);
      expect(worker.status, worker.stderr).toBe(0);
      const lines = worker.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { type: string; jobId?: string; state?: string });
      expect(lines.find((l) => l.type === 'job.settled')).toMatchObject({ jobId: job.id, state: 'completed' });

      const shown = cadre(['jobs', 'show', job.id, '--data', data, '--json'], env);
      expect(shown.status, shown.stderr).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({
        id: job.id,
        state: 'completed',
        result: { answer: expect.stringContaining('from the cli') as unknown },
        run: { id: job.runId, status: 'completed' },
      });
    },
    120_000,
  );

  it('a CADRE_REDIS_URL that is not a redis:// URL exits 2 with config_invalid; one nobody answers exits 1 with unavailable', () => {
    const data = mkdtempSync(join(tmpdir(), 'cadre-cli-bullmq-'));
    const bad = cadre(['jobs', 'list', '--data', data], { CADRE_REDIS_URL: 'http://127.0.0.1:6379' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('config_invalid: Invalid config: redisUrl (from CADRE_REDIS_URL)');
    for (const args of [
      ['jobs', 'list', '--data', data],
      ['worker', '--until-idle', '--app', appPath, '--data', data],
    ]) {
      const away = cadre(args, { CADRE_REDIS_URL: 'redis://127.0.0.1:1' });
      expect(away.status, args[0]).toBe(1);
      expect(away.stderr).toContain('unavailable: Cannot reach Redis at 127.0.0.1:1');
    }
  }, 120_000);
});
