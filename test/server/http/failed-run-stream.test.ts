import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { defineApp } from 'cadre';
import { StaticPlanner } from 'cadre/planners';
import { ScriptedChatModel } from 'cadre/testing';
import { serveHttpApi, type HttpApiServing } from '../../../src/server/http/index.js';
import { open, parseFrames, testApi, type Frame } from './http-fixtures.js';

/** A model that is slow enough to be followed live, then fails every call. */
const failing = () =>
  new ScriptedChatModel({ respond: () => ({ error: new Error('the model is down') }), latencyMs: 60 });

const app = defineApp({
  agents: { broken: () => ({ agent: { name: 'broken', instructions: 'Answer.' }, model: failing() }) },
  teams: {
    brokenTeam: () => ({
      roles: [{ name: 'worker', description: 'works', agent: { name: 'worker', instructions: 'Work.' } }],
      planner: new StaticPlanner({
        goal: 'g',
        tasks: [{ id: 't1', title: 'one', instruction: 'do it', role: 'worker', dependsOn: [] }],
      }),
      model: failing(),
    }),
  },
});

let serving: HttpApiServing | undefined;
afterEach(async () => {
  await serving?.close();
  serving = undefined;
});

async function listening() {
  const t = testApi({ app, server: { port: 0, workers: 0 } });
  const key = (await t.api.keys.create()).key;
  serving = await serveHttpApi(t.api);
  const headers = {
    Host: new URL(serving.url).host,
    Authorization: `Bearer ${key}`,
    'Content-Type': 'application/json',
  };
  return { ...t, url: serving.url, headers };
}

/** Reads a response to its end; fails when the server does not close it within `ms`. */
function readToEnd(response: IncomingMessage, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`the stream was still open after ${ms} ms`)), ms);
    response.on('data', (chunk: Buffer) => (text += chunk.toString()));
    response.once('end', () => {
      clearTimeout(timer);
      resolve(text);
    });
    response.once('error', reject);
  });
}

/** The stream ends with the run's failed completion, then its `stream.end`, and holds exactly the stored log. */
function expectFailedEnding(frames: Frame[], stored: readonly { seq: number }[], runId: string) {
  // (Live-only `model.delta` frames, if the stream sends any, are not in the log.)
  const withIds = frames.filter((f) => f.id !== undefined && f.data.type !== 'model.delta');
  expect(withIds.map((f) => f.data)).toEqual(stored);
  expect(frames.filter((f) => f.data.type === 'run.completed')).toHaveLength(1);
  expect(frames.at(-2)!.data).toMatchObject({
    type: 'run.completed',
    runId,
    status: 'failed',
    answer: null,
    error: { message: expect.stringContaining('the model is down') },
  });
  expect(frames.at(-1)).toEqual({
    data: { type: 'stream.end', runId, status: 'failed', lastSeq: stored.at(-1)!.seq },
  });
}

describe('the event stream of a run that fails', () => {
  for (const entry of [{ agent: 'broken' }, { team: 'brokenTeam' }]) {
    const name = Object.values(entry)[0]!;
    it(`ends with run.completed (failed) and stream.end, then closes: POST /runs stream and GET /runs/:id/events (${name})`, async () => {
      const s = await listening();
      const started = await open(`${s.url}/runs`, {
        method: 'POST',
        headers: s.headers,
        body: JSON.stringify({ ...entry, goal: 'fail please', stream: true }),
      });
      expect(started.statusCode).toBe(200);
      const runId = started.headers['x-cadre-run-id'] as string;
      // A second client follows the same run while it is still going.
      const followed = await open(`${s.url}/runs/${runId}/events`, { headers: s.headers });
      expect(s.api.runs.handle(runId), 'the run is still live when followed').toBeDefined();
      const [postText, followText] = await Promise.all([readToEnd(started), readToEnd(followed)]);

      expect(s.store.runs.get(runId)!.status).toBe('failed');
      const stored = s.store.events.read(runId);
      expectFailedEnding(parseFrames(postText), stored, runId);
      expectFailedEnding(parseFrames(followText), stored, runId);
      // Nothing after the final frame: the text ends with it.
      expect(postText.endsWith(`"lastSeq":${stored.at(-1)!.seq}}\n\n`)).toBe(true);

      // Replayed once the run is over, the stream ends the same way.
      const replay = await open(`${s.url}/runs/${runId}/events`, { headers: s.headers });
      expectFailedEnding(parseFrames(await readToEnd(replay)), stored, runId);
      // From past its last event, only the final frame.
      const past = await open(`${s.url}/runs/${runId}/events`, {
        headers: { ...s.headers, 'Last-Event-ID': String(stored.at(-1)!.seq) },
      });
      expect(parseFrames(await readToEnd(past))).toEqual([{ data: { type: 'stream.end', runId, status: 'failed' } }]);
    });
  }
});
