import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { openCadreStore, run, type CadreConfigInput } from 'cadre';
import { ScriptedChatModel } from 'cadre/testing';
import { defineTool, type Tool } from 'cadre/tools';

/** A tool that counts its calls, so a test can prove a rejected request ran nothing. */
export function countingTool(): { tool: Tool; calls: () => number } {
  let calls = 0;
  const tool = defineTool({
    name: 'count',
    description: 'Adds one to a counter and returns it.',
    input: z.object({ note: z.string().optional() }),
    effects: 'write',
    run: () => String(++calls),
  });
  return { tool, calls: () => calls };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with exactly the headers given (fetch will not let a test set Host). */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | string[] },
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: options.method ?? 'POST',
        headers: options.headers ?? {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    // The server may close while a large body is still going out; the response is what counts.
    req.on('error', (error) => (/EPIPE|ECONNRESET/.test(String(error)) ? undefined : reject(error)));
    const parts = Array.isArray(options.body) ? options.body : options.body !== undefined ? [options.body] : [];
    for (const part of parts) req.write(part);
    req.end();
  });
}

/** A JSON-RPC tools/call of the counting tool, padded to `padTo` characters when asked. */
export function countCall(padTo = 0): string {
  const base = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'count', arguments: { note: '' } } };
  const size = JSON.stringify(base).length;
  base.params.arguments.note = 'x'.repeat(Math.max(0, padTo - size));
  return JSON.stringify(base);
}

/** A fresh database file for runs, and its store as the MCP server reads it. */
export function tempStore() {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-mcp-'));
  const config = { databasePath: join(dir, 'cadre.db'), dataDir: dir, ollamaHost: 'http://127.0.0.1:2' };
  return { dir, config, store: openCadreStore({ path: config.databasePath }) };
}

/** A real one-agent run of `goal` in the store of `config`, answered by the scripted model. */
export async function scriptedRun(config: CadreConfigInput, goal: string, answer = `answer to ${goal}`) {
  const handle = run({
    goal,
    agent: { name: 'solo', instructions: 'Answer.' },
    model: new ScriptedChatModel({ replies: [answer] }),
    config,
  });
  return handle.result;
}

/** A client connected in memory to `server`, closed by `clients` cleanup. */
export async function connectInMemory(server: McpServer, clients: Client[]): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
  clients.push(client);
  return client;
}

/** The MCP error a request was answered with (fails the test if it succeeded). */
export async function mcpError(request: Promise<unknown>): Promise<McpError> {
  const error = await request.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof McpError)) throw new Error(`expected an MCP error, got ${String(error)}`);
  return error;
}
