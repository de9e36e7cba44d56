import { mkdtempSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineApp, openCadreStore, withBuiltins, type CadreApp, type CadreEvent, type CadreStore } from 'cadre';
import { createHttpApi, type HttpServerOptionsInput } from '../../../src/server/http/index.js';
import { chainTeam } from '../../fixtures/cadre-app.js';
import { ScriptedChatModel } from 'cadre/testing';

/** The Host header of an API on the default port, as a local client sends it. */
export const localHost = '127.0.0.1:7700';

/** A registry of test teams; `made()` counts how many runs' teams were built. */
export function testApp(options: { latencyMs?: number | [number, number]; tasks?: number } = {}) {
  let made = 0;
  const app: CadreApp = withBuiltins(
    defineApp({
      teams: {
        chain: () => (made++, chainTeam({ latencyMs: options.latencyMs ?? 5, tasks: options.tasks ?? 6 })),
        gated: () => (made++, { ...chainTeam({ tasks: 2, latencyMs: 0 }), approvePlan: true }),
      },
      agents: {
        echo: () => (
          made++,
          {
            agent: { name: 'echo', instructions: 'Answer in one line.' },
            model: new ScriptedChatModel({ respond: () => 'echo' }),
          }
        ),
      },
    }),
  );
  return { app, made: () => made };
}

/** An API over a fresh database file, with the helpers the tests share. */
export function testApi(options: { app?: CadreApp; server?: HttpServerOptionsInput } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-http-'));
  const config = { databasePath: join(dir, 'cadre.db') };
  const api = createHttpApi({ app: options.app ?? testApp().app, config, server: options.server ?? {} });
  const store = openCadreStore({ path: config.databasePath });
  return {
    api,
    store,
    dir,
    config,
    /** Headers of a well-formed request with `key`. */
    headers: (key?: string, more: Record<string, string> = {}): Record<string, string> => ({
      Host: localHost,
      'Content-Type': 'application/json',
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
      ...more,
    }),
  };
}

/** One parsed SSE frame: its id (the event's seq) when it has one, and its data. */
export interface Frame {
  id?: number;
  data: { type: string; seq?: number; status?: string; reason?: string; [key: string]: unknown };
}

/** The complete frames in `text`; a frame cut off mid-way is not one. */
export function parseFrames(text: string): Frame[] {
  const frames: Frame[] = [];
  const blocks = text.split('\n\n');
  blocks.pop(); // whatever follows the last blank line is incomplete
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => !l.startsWith(':'));
    if (lines.length === 0) continue;
    const id = lines.find((l) => l.startsWith('id: '))?.slice(4);
    const data = lines
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6))
      .join('\n');
    frames.push({ ...(id !== undefined ? { id: Number(id) } : {}), data: JSON.parse(data) as Frame['data'] });
  }
  return frames;
}

/** The events of a run as the store keeps them. */
export const storedEvents = (store: CadreStore, runId: string): CadreEvent[] => store.events.read(runId);

/** Sends a request over a real socket and hands back the response stream as it arrives. */
export function open(
  url: string,
  options: { method?: string; headers: Record<string, string>; body?: string },
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, resolve);
    req.once('error', reject);
    req.end(options.body);
  });
}

/** Stores a run another process carries out (`running`, not live here), with `count` events of `size` bytes. */
export function storedRun(
  t: Pick<ReturnType<typeof testApi>, 'store'>,
  keyId: string,
  runId: string,
  count: number,
  size = 10,
) {
  t.store.runs.create({ id: runId, goal: 'stored', settings: { owner: { key: keyId } } });
  for (let seq = 1; seq <= count; seq++)
    t.store.events.append({
      type: 'tool.progress',
      tool: 'blob',
      callId: 'c',
      progress: seq,
      message: 'x'.repeat(size),
      runId,
      seq,
      ts: 0,
    });
}
