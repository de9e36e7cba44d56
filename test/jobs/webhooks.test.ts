import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorker, enqueue, openJobQueue } from 'cadre/jobs';
import app from '../fixtures/jobs-app.js';

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const received: { headers: IncomingHttpHeaders; body: string; status: number }[] = [];
let failFirst = 0;
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => {
    const status = failFirst-- > 0 ? 500 : 204;
    received.push({ headers: req.headers, body, status });
    res.writeHead(status).end();
  });
});
let host: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

const fresh = () => ({
  databasePath: join(mkdtempSync(join(tmpdir(), 'cadre-webhooks-')), 'cadre.db'),
  webhookSecret: secret,
  webhookHosts: [host],
});

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('job webhooks', () => {
  it('a receiver that fails twice gets the third attempt with the same id, signed by the published algorithm', async () => {
    received.length = 0;
    failFirst = 2;
    const config = fresh();
    const { job } = await enqueue({ agent: 'echo', goal: 'tell me', webhook: `http://${host}/hook` }, { app, config });
    const worker = createWorker({ app, config, pollMs: 50 });
    await until(() => received.some((r) => r.status === 204));
    await worker.stop();
    expect(received.map((r) => r.status)).toEqual([500, 500, 204]);
    const ids = new Set(received.map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    const last = received.at(-1)!;
    const payload = new Webhook(secret).verify(last.body, last.headers as Record<string, string>) as {
      type: string;
      data: { jobId: string; state: string; result: { answer: string } };
    };
    expect(payload).toMatchObject({ type: 'job.completed', data: { jobId: job.id, state: 'completed' } });
    expect(payload.data.result.answer).toContain('tell me');
    // A body changed on the way no longer verifies.
    expect(() =>
      new Webhook(secret).verify(last.body.replace('completed', 'dead'), last.headers as Record<string, string>),
    ).toThrow();
  }, 30_000);

  it('a message is committed with the job it reports: a worker gone right after settling still delivers through another', async () => {
    received.length = 0;
    failFirst = 0;
    const config = fresh();
    const { job } = await enqueue(
      { agent: 'echo', goal: 'settled then gone', webhook: `http://${host}/hook` },
      { app, config },
    );
    const queue = openJobQueue(config);
    // A worker leases and settles the job, then dies before it delivers anything.
    const leased = (await queue.lease({ worker: 'doomed', leaseMs: 10_000 }))!;
    await queue.settle(job.id, leased.epoch, { kind: 'failed', error: { code: 'x', message: 'broke' }, retry: false });
    expect(received).toHaveLength(0);
    const worker = createWorker({ app, config, pollMs: 50 });
    await until(() => received.length > 0);
    await worker.stop();
    const payload = JSON.parse(received[0]!.body) as { type: string; data: { jobId: string } };
    expect(payload).toMatchObject({ type: 'job.dead', data: { jobId: job.id } });
  });

  it('refuses a webhook to a host not allowed, or with no secret to sign it, and queues nothing', async () => {
    const config = fresh();
    await expect(
      enqueue({ agent: 'echo', goal: 'x', webhook: 'http://169.254.169.254/latest' }, { app, config }),
    ).rejects.toMatchObject({ code: 'input_invalid', details: { field: 'webhook' } });
    await expect(
      enqueue(
        { agent: 'echo', goal: 'x', webhook: `http://${host}/hook` },
        { app, config: { ...config, webhookSecret: undefined } },
      ),
    ).rejects.toMatchObject({ code: 'config_invalid' });
    await expect(enqueue({ agent: 'echo', goal: 'x', webhook: 'ftp://files' }, { app, config })).rejects.toMatchObject({
      code: 'input_invalid',
    });
    expect(await openJobQueue(config).list()).toEqual([]);
  });
});
