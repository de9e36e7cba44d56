/**
 * Launcher for .ci/mcp-conformance.sh: serves the built-in tools over HTTP on loopback (no token),
 * prints the URL on stdout's first line, and runs until SIGTERM.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinTools } from 'cadre/tools';
import { createCadreMcpServer, serveHttp } from '../../src/server/mcp/index.js';

const root = await mkdtemp(join(tmpdir(), 'cadre-conformance-'));
const tools = builtinTools({ root });
const serving = await serveHttp(
  () => createCadreMcpServer({ tools, runGoal: async (goal) => `(conformance stub) ${goal}` }),
  {
    port: Number(process.env.PORT ?? 0),
  },
);
process.stdout.write(`${serving.url}\n`);
const stop = () => void serving.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
