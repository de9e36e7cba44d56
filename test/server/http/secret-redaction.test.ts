import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startServe, stopServeProcesses } from '../../fixtures/serve-process.js';
import { parseFrames } from './http-fixtures.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const secretApp = join(root, 'test/server/http/secret-app.ts');
afterEach(stopServeProcesses);

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const random = (n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join('');
// Made fresh for each run of the test: nothing else can hold them.
const openaiKey = `sk-proj-${random(156)}`;
const githubToken = `ghp_${random(36)}`;

const cli = (data: string, ...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, '--data', data], {
    cwd: root,
    env: { ...process.env, CADRE_DATABASE_PATH: '', NO_COLOR: '1' },
    encoding: 'utf8',
  });

describe('no secret in logs or events over HTTP', () => {
  it('keeps API keys and secrets sent in goals out of every log line (at trace level) and every stored event', async () => {
    const data = mkdtempSync(join(tmpdir(), 'cadre-secrets-'));
    // Keys made beforehand, so `cadre serve` prints none: anything of a key in its output is a leak.
    const created = cli(data, 'keys', 'create', '--name', 'tester', '--json');
    expect(created.status, created.stderr).toBe(0);
    const key = (JSON.parse(created.stdout) as { key: string }).key;
    const wrongKey = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');

    const server = await startServe({
      data,
      app: secretApp,
      env: { CADRE_LOG_LEVEL: 'trace', CADRE_TEST_SECRET: githubToken },
    });
    const { child, exited, url } = server;
    const headers = (k: string) => ({ Authorization: `Bearer ${k}`, 'Content-Type': 'application/json' });
    const post = (path: string, body: unknown, k = key) =>
      fetch(`${url}${path}`, { method: 'POST', headers: headers(k), body: JSON.stringify(body) });

    // A wrong key, with a secret in the goal: refused, and nothing of either logged.
    const refused = await post('/runs', { agent: 'parrot', goal: `use ${openaiKey}` }, wrongKey);
    expect(refused.status).toBe(401);
    expect(await refused.text()).not.toContain(openaiKey);
    expect((await fetch(`${url}/v1/models`, { headers: headers(wrongKey) })).status).toBe(401);

    // Runs whose goals hold secrets: one answers with its goal, one fails with it in its error.
    const parrot = await post('/runs', {
      agent: 'parrot',
      goal: `Deploy with OPENAI_API_KEY=${openaiKey} and push with ${githubToken}`,
      stream: true,
    });
    expect(parrot.status).toBe(200);
    const parrotId = parrot.headers.get('x-cadre-run-id')!;
    const parrotStream = await parrot.text();
    const failing = await post('/runs', { team: 'unplannable', goal: `Rotate ${githubToken} then ${openaiKey}` });
    expect(failing.status).toBe(202);
    const failingId = ((await failing.json()) as { id: string }).id;
    // Over /v1 as well, where the goal comes from the conversation.
    const chat = await post('/v1/chat/completions', {
      model: 'parrot',
      messages: [{ role: 'user', content: `my key is ${openaiKey}` }],
    });
    expect(chat.status).toBe(200);
    const chatId = chat.headers.get('x-cadre-run-id')!;
    const chatBody = await chat.text();
    // A server error whose message holds a secret: answered 500, logged by the server.
    const exploding = await post('/runs', { team: 'exploding', goal: 'anything' });
    expect(exploding.status).toBe(500);
    const explodingBody = await exploding.text();

    // Every run over, its stored events as GET /runs/:id/events replays them.
    const eventsOf = async (id: string) => {
      for (let i = 0; i < 200; i++) {
        const run = (await (await fetch(`${url}/runs/${id}`, { headers: headers(key) })).json()) as { status: string };
        if (!['running', 'pending'].includes(run.status)) break;
        await sleep(25);
      }
      return (await fetch(`${url}/runs/${id}/events`, { headers: headers(key) })).text();
    };
    const replays = await Promise.all([parrotId, failingId, chatId].map(eventsOf));

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const stdout = server.stdout();
    const stderr = server.stderr();

    const secrets = { openaiKey, githubToken, key, wrongKey, keySecret: key.replace(/^[a-z]+_[0-9a-f]{12}_/, '') };
    // (The run records of GET /runs/:id are not scanned: they give the owner back the goal it sent.)
    const served = [parrotStream, ...replays, chatBody, explodingBody];
    for (const [name, value] of Object.entries(secrets))
      // The whole value, and a slice of its middle: no part of it may be left behind.
      for (const needle of [value, value.slice(value.length / 2 - 8, value.length / 2 + 8)]) {
        for (const text of served) expect(text.includes(needle), `${name} in what the API sent`).toBe(false);
        expect(stderr.includes(needle), `${name} in the server's stderr`).toBe(false);
        expect(stdout.includes(needle), `${name} in the server's stdout`).toBe(false);
      }

    // The events still say where the secrets were.
    const [parrotEvents, failingEvents, chatEvents] = replays.map((text) => parseFrames(text).map((f) => f.data));
    expect(parrotEvents![0]).toMatchObject({ type: 'run.started', goal: expect.stringContaining('[redacted]') });
    expect(parrotEvents!.find((e) => e.type === 'run.completed')).toMatchObject({
      status: 'completed',
      answer: expect.stringMatching(/^you said: .*\[redacted\].*\[redacted\]/),
    });
    expect(failingEvents!.find((e) => e.type === 'run.completed')).toMatchObject({
      status: 'failed',
      error: { message: expect.stringMatching(/the planner gave up on: .*\[redacted\]/) },
    });
    expect(chatEvents![0]).toMatchObject({ type: 'run.started', goal: expect.stringContaining('[redacted]') });

    // The logs were captured, and they did carry the text the secrets were in, redacted.
    const lines = stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; runId?: string; err?: { message?: string } });
    const runLog = lines.find((l) => l.msg === 'run stopped with an error' && l.runId === failingId);
    expect(runLog?.err?.message).toMatch(/the planner gave up on: .*\[redacted\]/);
    const serverLog = lines.find((l) => l.msg === 'request failed');
    expect(serverLog?.err?.message).toBe('cannot reach the vault with [redacted]');
  }, 60_000);
});
