import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CadreConfigInput } from 'cadre';
import { createHttpApi, serveHttpApi, type HttpApiServing } from '../../../src/server/http/index.js';
import { deleteRedisPrefix } from '../../fixtures/redis-keys.js';
import { startWebhookReceiver } from '../../fixtures/webhook-receiver.js';
import { localHost, testApp } from './http-fixtures.js';

const url = process.env.CADRE_REDIS_URL;
if (!url) process.stdout.write('POST /jobs with a webhook on BullMQ skipped: set CADRE_REDIS_URL\n');

const secret = `whsec_${randomBytes(24).toString('base64')}`;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let host = '';
beforeAll(async () => {
  receiver = await startWebhookReceiver();
  ({ host } = receiver);
});
afterAll(() => receiver.close());

const prefix = `cadre-test-${randomUUID().slice(0, 8)}`;
const queues: { name: string; enabled: boolean; config: CadreConfigInput }[] = [
  { name: 'the embedded queue', enabled: true, config: { jobQueue: 'sqlite' } },
  { name: 'BullMQ', enabled: Boolean(url), config: { jobQueue: 'bullmq', redisUrl: url, jobQueuePrefix: prefix } },
];

for (const { name, enabled, config } of queues) {
  describe.skipIf(!enabled)(`POST /jobs with a webhook, on ${name}`, () => {
    let serving: HttpApiServing;
    let admin = '';
    beforeAll(async () => {
      const databasePath = join(mkdtempSync(join(tmpdir(), 'cadre-http-hooks-')), 'cadre.db');
      const api = createHttpApi({
        app: testApp().app,
        config: { databasePath, webhookSecret: secret, webhookHosts: [host], ...config },
        server: { port: 0, workers: 1 },
      });
      admin = (await api.keys.create({ name: 'ops', admin: true })).key;
      serving = await serveHttpApi(api);
    });
    afterAll(async () => {
      await serving.close();
      if (url && config.redisUrl) await deleteRedisPrefix(url, prefix);
    });
    const post = (body: unknown) =>
      fetch(`${serving.url}/jobs`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });

    it('keeps the webhook with the job, and the receiver gets the signed job.completed once the server’s worker ran it', async () => {
      const webhook = `http://${host}/hook`;
      const response = await post({ agent: 'echo', goal: 'hook me', webhook });
      expect(response.status).toBe(201);
      const { job } = (await response.json()) as { job: { id: string; webhook: string } };
      expect(job.webhook).toBe(webhook);
      const mine = () => receiver.received.find((r) => r.body.includes(job.id));
      for (const deadline = Date.now() + 15_000; !mine() && Date.now() < deadline;) await sleep(20);
      const message = mine()!;
      expect(new Webhook(secret).verify(message.body, message.headers)).toMatchObject({
        type: 'job.completed',
        data: { jobId: job.id, state: 'completed', result: { answer: 'echo' } },
      });
    });

    it('refuses a webhook to a host not in webhookHosts, and one that is not http(s), queuing nothing', async () => {
      const elsewhere = await post({ agent: 'echo', goal: 'x', webhook: 'http://169.254.169.254/latest' });
      expect(elsewhere.status).toBe(400);
      expect(await elsewhere.json()).toMatchObject({ error: { code: 'input_invalid' } });
      const ftp = await post({ agent: 'echo', goal: 'x', webhook: 'ftp://files.example.com/x' });
      expect(ftp.status).toBe(400);
      expect(((await ftp.json()) as { error: { message: string } }).error.message).toMatch(/^webhook: /);
      const list = await fetch(`${serving.url}/jobs`, { headers: { Authorization: `Bearer ${admin}` } });
      expect(((await list.json()) as { jobs: { goal: string }[] }).jobs.map((j) => j.goal)).not.toContain('x');
    });
  });
}

describe('/openapi.json for jobs', () => {
  it('documents `webhook` on POST /jobs and on scheduled jobs, from the job schema of cadre/jobs, and stays valid', async () => {
    const api = createHttpApi({
      app: testApp().app,
      config: { databasePath: join(mkdtempSync(join(tmpdir(), 'cadre-http-hooks-')), 'cadre.db'), jobQueue: 'sqlite' },
    });
    const document = (await (await api.app.request('/openapi.json', { headers: { Host: localHost } })).json()) as {
      components: { schemas: Record<string, { properties: Record<string, { format?: string; properties?: never }> }> };
    };
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    const { Enqueue, ScheduleBody } = document.components.schemas;
    expect(Enqueue!.properties.webhook).toMatchObject({ type: 'string', format: 'uri', maxLength: 2048 });
    expect(Object.keys(Enqueue!.properties)).not.toContain('scheduleId');
    const scheduledJob = ScheduleBody!.properties.job as unknown as { properties: Record<string, unknown> };
    expect(Object.keys(scheduledJob.properties)).toContain('webhook');
    expect(Object.keys(scheduledJob.properties)).not.toContain('dedupeKey');
  });
});
