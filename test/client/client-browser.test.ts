// cadre/client in a real browser: Debian's chromium, headless, driven by playwright-core (which never
// downloads a browser here), loads the client bundled for the browser by esbuild from a page on one
// loopback port and talks to a cadre server on another, across origins, as a web app would.
import { existsSync } from 'node:fs';
import { createServer, request, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Cadre from '../../src/client/index.js';
import { serveHttpApi, type HttpApiServing } from '../../src/server/http/index.js';
import { testApi, testApp } from '../server/http/http-fixtures.js';
import { requireHere } from '../tools/mcp/required-here.js';

const executable = [process.env.CADRE_CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (path): path is string => !!path && existsSync(path),
);
// Skipped, saying why, where it is missing; under CI=true that fails instead.
const missing = executable
  ? undefined
  : 'chromium is not installed (apt-get install chromium, or set CADRE_CHROMIUM_PATH to its executable)';

const entry = fileURLToPath(new URL('../../src/client/index.ts', import.meta.url));

/** src/client bundled as the browser gets it: one ES module, nothing of Node's. */
async function bundleClient(): Promise<{ code: string; metafile: Metafile }> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return { code: result.outputFiles[0]!.text, metafile: result.metafile };
}

/** What the page's window holds once its module script ran: the bundled client's exports. */
type PageWindow = { cadre: typeof Cadre; navigator: { userAgent: string } };

/** An event as the page hands it back (the fields the assertions read). */
interface SeenEvent {
  type: string;
  seq: number;
  taskId?: string;
  step?: number;
  text?: string;
  content?: string;
  /** The connection it came on: 0 for the first, n after the nth reconnection. */
  connection: number;
}

const listen = (server: Server) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
const close = (server: Server | undefined) =>
  new Promise<void>((resolve) => (server ? (server.closeAllConnections(), server.close(() => resolve())) : resolve()));

/** The page: an empty document whose module script puts the bundled client on `window.cadre`. */
function pageServer(bundle: () => string) {
  const html =
    '<!doctype html><html><head><meta charset="utf-8"><title>cadre client</title>' +
    '<script type="module">import * as cadre from "/cadre-client.js"; window.cadre = cadre;</script>' +
    '</head><body></body></html>';
  return createServer((req, res) => {
    if (req.url === '/') return res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
    if (req.url === '/cadre-client.js')
      return res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(bundle());
    res.writeHead(404).end();
  });
}

/**
 * A reverse proxy in front of the API that cuts the first event streams through it after
 * `budgets[i]` bytes (mid-frame as often as not), destroying the browser's connection as a dropped
 * network does; records each event-stream request's Last-Event-ID and every method it forwards.
 * It waits a moment between the last bytes and the cut: a browser errors a body stream at once on a
 * network error, dropping the bytes it held unread (the client then resumes from further back,
 * correctly), and the pause makes what the page had received before each cut plain.
 */
function cuttingProxy(target: () => URL, budgets: number[]) {
  const lastEventIds: Array<string | null> = [];
  const methods: string[] = [];
  const left = [...budgets];
  const server = createServer((req, res) => {
    methods.push(req.method ?? '');
    const events = req.method === 'GET' && /\/events(\?|$)/.test(req.url ?? '');
    if (events) lastEventIds.push((req.headers['last-event-id'] as string | undefined) ?? null);
    let budget = events ? (left.shift() ?? Infinity) : Infinity;
    const headers: OutgoingHttpHeaders = { ...req.headers };
    delete headers.connection;
    const upstream = request(
      { host: target().hostname, port: target().port, method: req.method, path: req.url, headers, agent: false },
      (answer) => {
        const back: OutgoingHttpHeaders = { ...answer.headers };
        for (const hop of ['connection', 'keep-alive', 'transfer-encoding']) delete back[hop];
        res.writeHead(answer.statusCode ?? 502, back);
        res.flushHeaders();
        answer.on('data', (chunk: Buffer) => {
          if (chunk.length < budget) {
            budget -= chunk.length;
            res.write(chunk);
            return;
          }
          answer.destroy();
          res.write(chunk.subarray(0, budget));
          setTimeout(() => res.destroy(), 100);
        });
        answer.on('end', () => res.end());
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  return { server, lastEventIds, methods };
}

// Three loopback servers: the page, the API (allowing the page's origin), and the cutting proxy.
let bundle: Awaited<ReturnType<typeof bundleClient>>;
const pages = pageServer(() => bundle.code);
let pageOrigin: string;
let apiURL: URL;
const proxy = cuttingProxy(() => apiURL, [1, 700, 1500, 2600]);
let proxyURL: string;
let t: ReturnType<typeof testApi>;
let key: string;
let serving: HttpApiServing | undefined;
let browser: Browser | undefined;
let page: Page;

beforeAll(async () => {
  bundle = await bundleClient();
  if (missing) return;
  pageOrigin = `http://127.0.0.1:${await listen(pages)}`;
  const proxyHost = `127.0.0.1:${await listen(proxy.server)}`;
  proxyURL = `http://${proxyHost}`;
  t = testApi({
    app: testApp({ latencyMs: [5, 15], tasks: 6 }).app,
    server: { port: 0, corsOrigins: [pageOrigin], allowedHosts: [proxyHost] },
  });
  key = (await t.api.keys.create({ name: 'browser' })).key;
  serving = await serveHttpApi(t.api);
  apiURL = new URL(serving.url);
  browser = await chromium.launch({
    executablePath: executable!,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  page = await browser.newPage();
  await page.goto(`${pageOrigin}/`);
  await page.waitForFunction(() => 'cadre' in globalThis);
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await serving?.close();
  await Promise.all([close(pages), close(proxy.server)]);
});

const storedSeqs = (runId: string) => t.store.events.read(runId).map((e) => e.seq);
const seqs = (events: SeenEvent[]) => events.filter((e) => e.type !== 'model.delta').map((e) => e.seq);

/** In the page: a run of `chain` created, followed to its final frame, then read back. */
function followInPage(baseURL: string, retryDelayMs?: number) {
  return page.evaluate(
    async ({ baseURL, apiKey, retryDelayMs }) => {
      const { cadre, navigator } = globalThis as unknown as PageWindow;
      const client = cadre.createClient({ baseURL, apiKey });
      const run = await client.runs.create({ team: 'chain', goal: 'six tasks, from a browser' });
      const stream = client.runs.events(run.id, retryDelayMs !== undefined ? { retryDelayMs } : {});
      const events: SeenEvent[] = [];
      for await (const e of stream) {
        const { type, seq, taskId, step, text, content } = e as Omit<SeenEvent, 'connection'>;
        events.push({ type, seq, taskId, step, text, content, connection: stream.reconnects });
      }
      const read = await client.runs.get(run.id);
      return {
        runId: run.id,
        created: run.status,
        streamStatus: stream.status,
        reconnects: stream.reconnects,
        lastSeq: stream.lastSeq,
        events,
        status: read.status,
        userAgent: navigator.userAgent,
      };
    },
    { baseURL, apiKey: key, retryDelayMs },
  );
}

describe('cadre/client bundled for the browser', () => {
  it('bundles with nothing of Node: no node: module, no server code', () => {
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs.filter((input) => input.startsWith('node:') || !/\.[cm]?[jt]s$/.test(input))).toEqual([]);
    expect(inputs.filter((input) => /src\/(server|runtime|store)\//.test(input))).toEqual([]);
    expect(bundle.code).toMatch(/export\s*{[^}]*createClient/);
  });
});

describe('cadre/client in headless chromium', { timeout: 30_000 }, () => {
  it('creates a chain run across origins, follows its events to the end and reads it back', async (context) => {
    requireHere(context, missing);
    const seen = await followInPage(serving!.url);
    expect(seen.userAgent).toMatch(/Chrome\//);
    expect(seen.created).toBe('running');
    expect(seen.streamStatus).toBe('completed');
    expect(seen.status).toBe('completed');
    expect(seen.reconnects).toBe(0);
    expect(seen.events.at(-1)).toMatchObject({ type: 'run.completed' });
    // Exactly the stored log, in order, each once; the live token deltas came through besides.
    expect(seqs(seen.events)).toEqual(storedSeqs(seen.runId));
    expect(seen.lastSeq).toBe(storedSeqs(seen.runId).at(-1));
    const replies = seen.events.filter((e) => e.type === 'model.response' && e.content);
    expect(replies.length).toBeGreaterThan(0);
    for (const reply of replies) {
      const deltas = seen.events.filter(
        (e) => e.type === 'model.delta' && e.taskId === reply.taskId && e.step === reply.step && e.seq < reply.seq,
      );
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.map((e) => e.text ?? '').join('')).toBe(reply.content);
    }
  });

  it("throws the server's code as a CadreError in the page: wrong key, unknown run", async (context) => {
    requireHere(context, missing);
    const errors = await page.evaluate(
      async ({ baseURL, apiKey }) => {
        const { cadre } = globalThis as unknown as PageWindow;
        const describeError = (e: unknown) => {
          const error = e as Cadre.CadreError;
          return {
            isCadreError: cadre.CadreError.isInstance(e),
            isError: e instanceof Error,
            code: error.code,
            kind: error.kind,
            status: (error.details as { status?: number } | undefined)?.status,
          };
        };
        const wrong = cadre.createClient({ baseURL, apiKey: 'cadre_nope' });
        const right = cadre.createClient({ baseURL, apiKey });
        const follow = async (client: Cadre.CadreClient, runId: string) => {
          for await (const event of client.runs.events(runId)) void event;
        };
        return Promise.all([
          wrong.runs.list().then(() => null, describeError),
          follow(wrong, 'run_nope').then(() => null, describeError),
          right.runs.get('run_nope').then(() => null, describeError),
        ]);
      },
      { baseURL: serving!.url, apiKey: key },
    );
    const unauthorized = { isCadreError: true, isError: true, code: 'auth_failed', kind: 'user', status: 401 };
    expect(errors).toEqual([
      unauthorized,
      unauthorized,
      { isCadreError: true, isError: true, code: 'run_not_found', kind: 'user', status: 404 },
    ]);
  });

  it('gets nothing through from a page origin the server does not allow (CORS is real here)', async (context) => {
    requireHere(context, missing);
    // The same page from http://localhost:<port>: another origin, not among the server's corsOrigins.
    const other = await browser!.newPage();
    try {
      await other.goto(pageOrigin.replace('127.0.0.1', 'localhost') + '/');
      await other.waitForFunction(() => 'cadre' in globalThis);
      const error = await other.evaluate(
        async ({ baseURL, apiKey }) => {
          const { cadre } = globalThis as unknown as PageWindow;
          return cadre
            .createClient({ baseURL, apiKey })
            .runs.list()
            .then(
              () => null,
              (e: Cadre.CadreError) => ({ isCadreError: cadre.CadreError.isInstance(e), code: e.code }),
            );
        },
        { baseURL: serving!.url, apiKey: key },
      );
      expect(error).toEqual({ isCadreError: true, code: 'unavailable' });
    } finally {
      await other.close();
    }
  });

  it('resumes by Last-Event-ID after the browser loses the connection: no gap, no duplicate', async (context) => {
    requireHere(context, missing);
    const seen = await followInPage(proxyURL, 5);
    expect(seen.streamStatus).toBe('completed');
    expect(seen.status).toBe('completed');
    expect(seen.events.at(-1)).toMatchObject({ type: 'run.completed' });
    // Four connections cut, so five opened; the browser's requests to the proxy were cross-origin.
    expect(seen.reconnects).toBe(4);
    expect(proxy.lastEventIds).toHaveLength(5);
    expect(proxy.methods).toContain('OPTIONS');
    expect(seqs(seen.events)).toEqual(storedSeqs(seen.runId));
    // Each reconnection asked for what follows the last stored event the page had received before its
    // cut (none while nothing had: the first cut comes after one byte).
    const expected = proxy.lastEventIds.map((_, connection) => {
      const before = seqs(seen.events.filter((e) => e.connection < connection));
      return connection === 0 || before.length === 0 ? null : String(before.at(-1));
    });
    expect(proxy.lastEventIds).toEqual(expected);
    // The first two asked for the whole log; later ones resumed mid-run (nearly always all of them:
    // the proxy pauses before each cut, but a busy machine may still read less before one).
    expect(expected.slice(0, 2)).toEqual([null, null]);
    const resumedAt = expected.filter((id) => id !== null).map(Number);
    expect(resumedAt.length, JSON.stringify(expected)).toBeGreaterThan(0);
    expect(resumedAt.every((seq) => seq < seen.lastSeq!)).toBe(true);
  });
});
