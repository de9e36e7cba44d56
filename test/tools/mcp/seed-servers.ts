// Entries of the MCP servers people install, and a scripted run through them; not a test file itself.
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'vitest';
import { openCadreStore, run, type CadreEventOf, type RunOptions } from 'cadre';
import { AuditLog, type McpServerConfig, type ToolPolicyConfig } from 'cadre/tools';
import { ScriptedChatModel, type ScriptFunction } from 'cadre/testing';
import { collect } from '../../fixtures/run-events.js';

const root = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

/** The entry points of the servers as installed from npm (devDependencies, exact versions). */
export const seedEntries = {
  postgres: root('node_modules/@modelcontextprotocol/server-postgres/dist/index.js'),
  memory: root('node_modules/@modelcontextprotocol/server-memory/dist/index.js'),
  playwright: root('node_modules/@playwright/mcp/cli.js'),
  fetch: root('node_modules/@tokenizin/mcp-npx-fetch/dist/index.js'),
};

/** What a scripted run through MCP servers did: its result, its tool calls and its audit log. */
export interface SeedRun {
  result: Awaited<ReturnType<typeof run>['result']>;
  calls: CadreEventOf<'tool.result'>[];
  /** The tools the model was offered on its first call (after the policy's allow/deny). */
  offered: readonly string[];
  audit: (tool: string) => ReturnType<AuditLog['list']>;
  dataDir: string;
}

/**
 * Runs one agent on the scripted model with these MCP servers and this tool policy, offline (no
 * model detection), with its own data dir and database.
 */
export async function runWithServers(options: {
  goal: string;
  respond: ScriptFunction;
  mcpServers: Record<string, McpServerConfig>;
  toolPolicy?: ToolPolicyConfig;
  approveTool?: RunOptions['approveTool'];
  dataDir?: string;
}): Promise<SeedRun> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'cadre-seed-'));
  let offered: readonly string[] = [];
  const model = new ScriptedChatModel({
    respond: (context) => {
      if (context.call === 0) offered = context.tools;
      return options.respond(context);
    },
  });
  const databasePath = join(dataDir, 'cadre.db');
  const { result, events } = await collect(
    run({
      goal: options.goal,
      agent: { name: 'agent', instructions: 'Use the tools you are given.' },
      model,
      ...(options.approveTool ? { approveTool: options.approveTool } : {}),
      config: {
        ollamaHost: 'http://127.0.0.1:2',
        dataDir,
        databasePath,
        mcpServers: options.mcpServers,
        ...(options.toolPolicy ? { toolPolicy: options.toolPolicy } : {}),
      },
    }),
  );
  const calls = events.filter((e): e is CadreEventOf<'tool.result'> => e.type === 'tool.result');
  const audit = (tool: string) => {
    const store = openCadreStore({ path: databasePath });
    try {
      return new AuditLog(store.db).list({ tool }).reverse();
    } finally {
      store.close();
    }
  };
  return { result, calls, offered, audit, dataDir };
}

/** Skips the test with the reason printed when its prerequisite is missing here. */
export function requires(context: TestContext, missing: string | undefined): void {
  if (missing) context.skip(missing);
}

/** Serves fixed HTML pages on 127.0.0.1; `requests` lists the paths asked for. */
export async function servePages(pages: Record<string, string>) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const page = pages[req.url ?? ''];
    if (page === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
