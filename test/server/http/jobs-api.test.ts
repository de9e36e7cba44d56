import { afterAll, describe, expect, it } from 'vitest';
import { serveHttpApi } from '../../../src/server/http/index.js';
import { testApi } from './http-fixtures.js';

const t = testApi({ server: { port: 0, workers: 1 } });
const admin = (await t.api.keys.create({ name: 'ops', admin: true })).key;
const user = (await t.api.keys.create({ name: 'app' })).key;
const serving = await serveHttpApi(t.api);
afterAll(() => serving.close());

const call = (key: string, path: string, init: { method?: string; body?: unknown } = {}) =>
  fetch(`${serving.url}${path}`, {
    method: init.method ?? (init.body ? 'POST' : 'GET'),
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  });

describe('jobs over HTTP on cadre serve', () => {
  it('queues a job that the server’s own worker runs to completion', async () => {
    const queued = await call(admin, '/jobs', { body: { agent: 'echo', goal: 'from http', dedupeKey: 'h1' } });
    expect(queued.status).toBe(201);
    const { job } = (await queued.json()) as { job: { id: string; runId: string } };
    const again = await call(admin, '/jobs', { body: { agent: 'echo', goal: 'from http', dedupeKey: 'h1' } });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { job: { id: string } }).job.id).toBe(job.id);
    let state = '';
    for (let i = 0; i < 200 && state !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      state = ((await (await call(admin, `/jobs/${job.id}`)).json()) as { state: string }).state;
    }
    expect(state).toBe('completed');
    const run = await call(admin, `/runs/${job.runId}`);
    expect(((await run.json()) as { status: string }).status).toBe('completed');
    const list = (await (await call(admin, '/jobs?state=completed')).json()) as { jobs: { id: string }[] };
    expect(list.jobs.map((j) => j.id)).toContain(job.id);
  });

  it('adds, lists and removes a schedule', async () => {
    const added = await call(admin, '/schedules', {
      body: { cron: '0 7 * * *', tz: 'Europe/Paris', job: { agent: 'echo', goal: 'every morning' } },
    });
    expect(added.status).toBe(201);
    const schedule = (await added.json()) as { id: string; nextAt: number };
    expect(
      new Date(schedule.nextAt).toLocaleString('en-GB', {
        timeZone: 'Europe/Paris',
        hour: '2-digit',
        minute: '2-digit',
      }),
    ).toBe('07:00');
    const list = (await (await call(admin, '/schedules')).json()) as { schedules: { id: string }[] };
    expect(list.schedules.map((s) => s.id)).toContain(schedule.id);
    expect((await call(admin, `/schedules/${schedule.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(admin, `/schedules/${schedule.id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('refuses bad jobs with a code naming the problem, and non-admin keys', async () => {
    const bad = await call(admin, '/jobs', { body: { team: 'nope', goal: 'x' } });
    expect(bad.status).toBe(404);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('team_not_found');
    const badCron = await call(admin, '/schedules', {
      body: { cron: '61 * * * *', job: { agent: 'echo', goal: 'x' } },
    });
    expect(badCron.status).toBe(400);
    const wrongType = await call(admin, '/jobs', { body: { agent: 'echo', goal: 'x', budget: { maxSteps: 'ten' } } });
    expect(wrongType.status).toBe(400);
    expect((await call(user, '/jobs', { body: { agent: 'echo', goal: 'x' } })).status).toBe(403);
    expect((await call(user, '/jobs')).status).toBe(403);
    expect((await call(user, '/runs')).status).toBe(200);
  });

  it("takes an answer to an MCP server's question with a job's approval, and refuses answers that are not field values", async () => {
    const answered = await call(admin, '/jobs/job_missing/approval', {
      body: { action: 'approve', content: { name: 'Ana Lima', check: true, integer: 7, tags: ['a'] } },
    });
    // Past the schema: the job is what is missing.
    expect(answered.status).toBe(404);
    const nested = await call(admin, '/jobs/job_missing/approval', {
      body: { action: 'approve', content: { name: { first: 'Ana' } } },
    });
    expect(nested.status).toBe(400);
    expect(((await nested.json()) as { error: { code: string } }).error.code).toBe('input_invalid');
  });

  it('serves Prometheus metrics read from the store to admin keys: jobs, queue depth, runs, tokens and cost by team and model', async () => {
    await call(admin, '/jobs', {
      body: { agent: 'echo', goal: 'later', queue: 'night', runAt: Date.now() + 3_600_000 },
    });
    const res = await call(admin, '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^cadre_jobs\{state="completed"\} [1-9]/m);
    expect(text).toMatch(/^cadre_queue_depth\{queue="night"\} 1$/m);
    expect(text).toMatch(/^cadre_runs\{status="completed"\} [1-9]/m);
    expect(text).toMatch(/^cadre_model_tokens\{team="agent:echo",model="[^"]+",direction="in"\} \d+/m);
    expect(text).toMatch(/^cadre_model_cost_usd\{team="agent:echo",model="[^"]+"\} [\d.e-]+$/m);
    expect(text).toMatch(/^cadre_run_seconds_count\{team="agent:echo"\} [1-9]/m);
    expect((await call(user, '/metrics')).status).toBe(403);
  });

  it('documents the jobs routes in /openapi.json', async () => {
    const doc = (await (await fetch(`${serving.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/jobs', '/jobs/{id}', '/schedules', '/schedules/{id}']),
    );
  });
});
