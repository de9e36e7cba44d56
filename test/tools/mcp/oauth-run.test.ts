// Runs that reach an OAuth-protected MCP server: a missing login names `cadre mcp login`, and the
// tokens of a login never reach the run's events, its database or its audit log.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openCadreStore, run, type CadreEvent, type CadreEventOf } from 'cadre';
import { AuditLog, loginMcpServer, logoutMcpServer, type McpServerConfig } from 'cadre/tools';
import { ScriptedChatModel, type ScriptFunction } from 'cadre/testing';
import { collect } from '../../fixtures/run-events.js';
import { followInBrowser, startOAuthFixture, type OAuthFixture } from './oauth-server.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

async function setUp() {
  const fixture = await startOAuthFixture();
  cleanups.push(() => fixture.close());
  const dataDir = mkdtempSync(join(tmpdir(), 'cadre-oauth-run-'));
  // Where runs look for the logins `cadre mcp login` made: the data dir's `mcp-auth`.
  const oauthDir = join(dataDir, 'mcp-auth');
  const server: McpServerConfig = { url: fixture.mcp.url };
  return { fixture, dataDir, oauthDir, server };
}

const login = (fixture: OAuthFixture, oauthDir: string) =>
  loginMcpServer({
    server: 'secure',
    config: { url: fixture.mcp.url },
    oauthDir,
    onAuthorizationUrl: (url) => void followInBrowser(url),
  });

/** One agent on a scripted model, with the server `secure`, in `dataDir`; what it was offered and did. */
async function runWith(dataDir: string, server: McpServerConfig, respond: ScriptFunction) {
  let offered: readonly string[] = [];
  const model = new ScriptedChatModel({
    respond: (context) => {
      if (context.call === 0) offered = context.tools;
      return respond(context);
    },
  });
  const { result, events } = await collect(
    run({
      goal: 'Ping the secure server',
      agent: { name: 'agent', instructions: 'Use the tools you are given.' },
      model,
      config: {
        ollamaHost: 'http://127.0.0.1:2',
        dataDir,
        databasePath: join(dataDir, 'cadre.db'),
        mcpServers: { secure: server },
      },
    }),
  );
  const calls = events.filter((e): e is CadreEventOf<'tool.result'> => e.type === 'tool.result');
  const servers = events.filter((e): e is CadreEventOf<'mcp.server'> => e.type === 'mcp.server');
  return { result, events, calls, servers, offered };
}

const pingOnce: ScriptFunction = ({ call }) =>
  call === 0 ? { toolCalls: [{ name: 'secure__ping', args: {} }] } : 'done';

/** Every row of every table of the database, as text (blobs read as UTF-8). */
function databaseText(path: string): string {
  const store = openCadreStore({ path });
  try {
    const tables = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{
      name: string;
    }>;
    return tables
      .map(({ name }) =>
        JSON.stringify(store.db.prepare(`SELECT * FROM "${name}"`).all(), (_key, value: unknown) =>
          Buffer.isBuffer(value) ? value.toString('utf8') : value,
        ),
      )
      .join('\n');
  } finally {
    store.close();
  }
}

/** The stored events of a run, and the audit log of the database. */
function stored(path: string, runId: string) {
  const store = openCadreStore({ path });
  try {
    return { events: store.events.read(runId), audit: new AuditLog(store.db).list() };
  } finally {
    store.close();
  }
}

/** Every file under `dir` but those in `skip`, by path relative to `dir`, with its bytes as text. */
function filesUnder(dir: string, skip: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (path === skip) continue;
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path).toString('latin1'));
    }
  };
  walk(dir);
  return files;
}

describe('an OAuth-protected MCP server in a run', () => {
  it('fails the run with mcp_auth_required naming `cadre mcp login secure` when nobody logged in, and registers nothing', async () => {
    const { fixture, dataDir, server } = await setUp();
    const { result, calls, servers, offered } = await runWith(dataDir, server, pingOnce);
    // The server fails to start, and the run stops there saying why, with the command to run.
    const failed = servers.find((e) => e.state === 'failed');
    expect(failed?.error?.code).toBe('mcp_auth_required');
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      code: 'mcp_auth_required',
      message: expect.stringContaining('`cadre mcp login secure`'),
    });
    // Nothing ran without the server's tools: no model call, no tool call.
    expect(offered).toEqual([]);
    expect(calls).toEqual([]);
    expect(fixture.registrations).toEqual([]);
    expect(fixture.authorizeRequests).toEqual([]);
    expect(fixture.tokenGrants).toEqual([]);
  });

  it('fails a call to a tool listed before the login was removed with mcp_auth_required naming the command', async () => {
    const { fixture, dataDir, oauthDir, server } = await setUp();
    await login(fixture, oauthDir);
    const first = await runWith(dataDir, server, pingOnce);
    expect(first.calls.map((c) => [c.ok, c.output])).toEqual([[true, 'pong']]);

    expect(logoutMcpServer({ server: 'secure', config: { url: fixture.mcp.url }, oauthDir })).toBe(true);
    // The tool list is cached from the first run, so the tool is offered; calling it needs a login.
    const second = await runWith(dataDir, server, pingOnce);
    expect(second.offered).toContain('secure__ping');
    expect(second.calls).toHaveLength(1);
    expect(second.calls[0]!.ok).toBe(false);
    expect(second.calls[0]!.error?.code).toBe('mcp_auth_required');
    expect(second.calls[0]!.error?.message).toContain('`cadre mcp login secure`');
    // A run registers nothing and sends nobody to a browser: that is the login's job.
    expect(fixture.registrations).toHaveLength(1);
    expect(fixture.authorizeRequests).toHaveLength(1);
  });

  it('`cadre run` fails, printing `cadre mcp login secure`, when the server has no login', async () => {
    const { fixture, dataDir } = await setUp();
    const configPath = join(dataDir, 'cadre.config.json');
    writeFileSync(configPath, JSON.stringify({ mcpServers: { secure: { url: fixture.mcp.url } } }));
    const child = spawn(
      process.execPath,
      // The scripted models: offline, and the server is started (and fails) all the same.
      ['--import', 'tsx', 'src/cli/main.ts', 'run', 'Ping the secure server', '--scripted'],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dataDir,
          NO_COLOR: '1',
          CADRE_CONFIG: configPath,
          CADRE_DATA_DIR: dataDir,
          OLLAMA_HOST: '127.0.0.1:2',
        },
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    // The run stops before anything runs without the server, and says what to do.
    expect(code).not.toBe(0);
    expect(output).toMatch(
      /MCP server secure failed: .*needs you to log in \(not logged in\): run `cadre mcp login secure`/,
    );
    expect(fixture.registrations).toEqual([]);
  }, 60_000);

  it('keeps the access and refresh tokens out of the run events, the database, its files and the audit log', async () => {
    const { fixture, dataDir, oauthDir, server } = await setUp();
    await login(fixture, oauthDir);
    // Two calls with the access token expired in between: the run refreshes, so both token pairs are used.
    const first = await runWith(dataDir, server, ({ call }) => {
      if (call === 1) fixture.expireAccessTokens();
      return call < 2 ? { toolCalls: [{ name: 'secure__ping', args: {} }] } : 'done';
    });
    expect(first.calls.map((c) => [c.ok, c.output])).toEqual([
      [true, 'pong'],
      [true, 'pong'],
    ]);
    expect(fixture.tokenGrants).toEqual(['authorization_code', 'refresh_token']);
    // The refreshed pair is saved where logins are kept: the strings looked for below are the real ones.
    const logins = [...filesUnder(oauthDir, '').values()].join('');
    expect(logins).toContain(fixture.issued[2]!);
    expect(logins).toContain(fixture.issued[3]!);
    // Then the login is revoked: the next run's call fails, and its error must not quote a token either.
    fixture.revokeAll();
    const second = await runWith(dataDir, server, pingOnce);
    expect(second.calls[0]!.error?.code).toBe('mcp_auth_required');

    const tokens = [...fixture.issued];
    // Access and refresh token of the login, and of the refresh.
    expect(tokens).toHaveLength(4);
    expect(tokens.filter((t) => t.startsWith('at_'))).toHaveLength(2);
    expect(tokens.filter((t) => t.startsWith('rt_'))).toHaveLength(2);

    const databasePath = join(dataDir, 'cadre.db');
    const runs = [first, second];
    const fromStore = runs.map((r) => stored(databasePath, r.result.runId));
    const audit = fromStore[0]!.audit;
    expect(audit.filter((r) => r.tool === 'secure__ping')).toHaveLength(3);
    for (const [i, r] of runs.entries()) expect(fromStore[i]!.events).toHaveLength(r.events.length);
    const places: Record<string, string> = {
      'events from the run handle': JSON.stringify(runs.map((r) => r.events satisfies CadreEvent[])),
      'results of the runs': JSON.stringify(runs.map((r) => r.result)),
      'events in the store': JSON.stringify(fromStore.map((s) => s.events)),
      'audit log': JSON.stringify(audit),
      'database tables': databaseText(databasePath),
      ...Object.fromEntries(filesUnder(dataDir, oauthDir)),
    };
    expect(Object.keys(places)).toEqual(expect.arrayContaining(['cadre.db', 'mcp-tools.json']));
    for (const [place, text] of Object.entries(places)) {
      for (const token of tokens) expect(text.includes(token), `${token.slice(0, 3)}… in ${place}`).toBe(false);
    }
  });
});
