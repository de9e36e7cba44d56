import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApi, serveHttpApi, type HttpApiServing } from '../../../src/server/http/index.js';
import { deleteRedisPrefix } from '../../fixtures/redis-keys.js';
import { testApp } from './http-fixtures.js';

const url = process.env.CADRE_REDIS_URL;
if (!url) process.stdout.write('/schedules on BullMQ skipped: set CADRE_REDIS_URL\n');
const prefix = `cadre-test-${randomUUID().slice(0, 8)}`;

/** A server with a database of its own, its queue on the shared Redis: one machine of several. */
async function machine(): Promise<{ serving: HttpApiServing; admin: string }> {
  const databasePath = join(mkdtempSync(join(tmpdir(), 'cadre-http-sched-')), 'cadre.db');
  const api = createHttpApi({
    app: testApp().app,
    config: { databasePath, jobQueue: 'bullmq', redisUrl: url!, jobQueuePrefix: prefix },
    server: { port: 0, workers: 0 },
  });
  const admin = (await api.keys.create({ name: 'ops', admin: true })).key;
  return { serving: await serveHttpApi(api), admin };
}

describe.skipIf(!url)('/schedules on a server whose queue is BullMQ', () => {
  let a: Awaited<ReturnType<typeof machine>>;
  let b: Awaited<ReturnType<typeof machine>>;
  beforeAll(async () => {
    [a, b] = await Promise.all([machine(), machine()]);
  });
  afterAll(async () => {
    await Promise.all([a?.serving.close(), b?.serving.close()]);
    await deleteRedisPrefix(url!, prefix);
  });
  const call = (m: typeof a, path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${m.serving.url}${path}`, {
      method: init.method ?? (init.body ? 'POST' : 'GET'),
      headers: { Authorization: `Bearer ${m.admin}`, 'Content-Type': 'application/json' },
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    });
  const ids = async (m: typeof a) =>
    ((await (await call(m, '/schedules')).json()) as { schedules: { id: string }[] }).schedules.map((s) => s.id);

  it('keeps a schedule made on one server in BullMQ, where another server with its own database lists and removes it', async () => {
    const added = await call(a, '/schedules', {
      body: { cron: '0 7 * * *', tz: 'Europe/Paris', job: { agent: 'echo', goal: 'every morning' } },
    });
    expect(added.status).toBe(201);
    const { id } = (await added.json()) as { id: string };
    expect(await ids(b)).toContain(id);
    expect((await call(b, `/schedules/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await ids(a)).not.toContain(id);
    expect((await call(a, `/schedules/${id}`, { method: 'DELETE' })).status).toBe(404);
  });
});
