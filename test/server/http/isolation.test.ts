import { beforeAll, describe, expect, it } from 'vitest';
import { parseFrames, testApi } from './http-fixtures.js';

const t = testApi();
const alice = (await t.api.keys.create({ name: 'alice' })).key;
const bob = (await t.api.keys.create({ name: 'bob' })).key;
const admin = (await t.api.keys.create({ name: 'ops', admin: true })).key;

const request = (
  key: string | undefined,
  path: string,
  init: { method?: string; body?: unknown; user?: string } = {},
) =>
  t.api.app.request(path, {
    method: init.method ?? 'GET',
    headers: t.headers(key, init.user ? { 'X-Cadre-User': init.user } : {}),
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });

async function start(key: string, body: Record<string, unknown>, user?: string): Promise<string> {
  const response = await request(key, '/runs', { method: 'POST', body, ...(user ? { user } : {}) });
  expect(response.status).toBe(202);
  const { id } = (await response.json()) as { id: string };
  await t.api.runs.handle(id)?.result;
  return id;
}

const ids = async (key: string, user?: string) =>
  ((await (await request(key, '/runs', user ? { user } : {})).json()) as { runs: Array<{ id: string }> }).runs
    .map((r) => r.id)
    .sort();

/** Every endpoint that names a run, with what each is sent. */
const endpoints = (id: string) => [
  { path: `/runs/${id}` },
  { path: `/runs/${id}/events` },
  { path: `/runs/${id}/events?from=2` },
  { path: `/runs/${id}/cancel`, method: 'POST', body: {} },
  { path: `/runs/${id}/approval`, method: 'POST', body: { action: 'approve' } },
];

let aliceRun: string;
let bobRun: string;
let waiting: string;
let forAnn: string;
let forBen: string;

beforeAll(async () => {
  aliceRun = await start(alice, { agent: 'echo', goal: 'alice asks' });
  bobRun = await start(bob, { agent: 'echo', goal: 'bob asks' });
  // A run waiting for approval: the one answering another's id must not answer it.
  waiting = await start(bob, { team: 'gated', goal: 'bob waits' });
  // Two end users of one key (a frontend serving many people).
  forAnn = await start(alice, { agent: 'echo', goal: 'ann asks' }, 'ann');
  forBen = await start(alice, { agent: 'echo', goal: 'ben asks' }, 'ben');
});

describe('who sees which run', () => {
  it('lists only the runs of the calling key, and of its end user when one is named', async () => {
    expect(await ids(alice)).toEqual([aliceRun, forAnn, forBen].sort());
    expect(await ids(bob)).toEqual([bobRun, waiting].sort());
    expect(await ids(alice, 'ann')).toEqual([forAnn]);
    expect(await ids(alice, 'ben')).toEqual([forBen]);
    expect(await ids(bob, 'ann')).toEqual([]);
    expect(await ids(admin)).toEqual([aliceRun, bobRun, waiting, forAnn, forBen].sort());
  });

  it("answers another key's run id on every endpoint with the same 404 as an id that does not exist", async () => {
    const missing = await request(alice, '/runs/run_does_not_exist');
    const expected = { status: missing.status, body: await missing.json() };
    expect(expected.status).toBe(404);
    for (const [key, theirs] of [
      [alice, bobRun],
      [alice, waiting],
      [bob, aliceRun],
      [bob, forAnn],
    ] as const) {
      for (const endpoint of endpoints(theirs)) {
        const response = await request(key, endpoint.path, endpoint);
        expect(response.status, `${endpoint.path} with another key`).toBe(404);
        const body = (await response.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('run_not_found');
        expect(body.error.message).toBe(`No run ${theirs}`);
      }
    }
    // Nothing was answered or cancelled on the owner's behalf.
    expect(t.store.runs.get(waiting)!.status).toBe('awaiting_approval');
    expect(t.api.runs.handle(waiting)).toBeUndefined();
  });

  it("answers another end user's run id with 404 on every endpoint, on the same key", async () => {
    for (const endpoint of endpoints(forBen)) {
      const response = await request(alice, endpoint.path, { ...endpoint, user: 'ann' });
      expect(response.status, endpoint.path).toBe(404);
    }
    const own = await request(alice, `/runs/${forAnn}`, { user: 'ann' });
    expect(await own.json()).toMatchObject({ id: forAnn, user: 'ann', status: 'completed' });
  });

  it("streams a run's events to its owner only", async () => {
    const own = await request(alice, `/runs/${aliceRun}/events`);
    expect(own.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = parseFrames(await own.text());
    expect(frames.map((f) => f.id).filter(Boolean)).toEqual(t.store.events.read(aliceRun).map((e) => e.seq));
    expect(frames.every((f) => f.data.runId === aliceRun)).toBe(true);
  });

  it('lets an admin key read and follow any run', async () => {
    expect((await request(admin, `/runs/${bobRun}`)).status).toBe(200);
    expect((await request(admin, `/runs/${bobRun}/events`)).status).toBe(200);
  });

  it('refuses every endpoint without a key', async () => {
    for (const endpoint of [{ path: '/runs' }, ...endpoints(aliceRun)]) {
      const response = await request(undefined, endpoint.path, endpoint);
      expect(response.status, endpoint.path).toBe(401);
    }
  });
});
