/**
 * Launcher for .ci/mcp-conformance.sh: serves cadre's MCP server over HTTP on loopback (no token)
 * as `cadre mcp serve --http` does, over a temporary store holding one finished run of the built-in
 * demo team, prints the URL on stdout's first line, and runs until SIGTERM.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCadreStore, runNamed, withBuiltins } from 'cadre';
import { createMemory } from 'cadre/memory';
import { builtinTools } from 'cadre/tools';
import { createDemoRouter } from '../../src/app/demo-model.js';
import { createCadreMcpServer, runGoalWith, serveHttp } from '../../src/server/mcp/index.js';

const root = await mkdtemp(join(tmpdir(), 'cadre-conformance-'));
const config = { dataDir: root, databasePath: join(root, 'cadre.db'), workspaceDir: root };
const app = withBuiltins();
// A real run (the demo team plays scripted models, offline), so there are runs to list and read.
await (
  await runNamed({ app, team: 'demo', goal: 'What is `17 * 23`?', config })
).result;
const store = openCadreStore({ path: config.databasePath });
const memory = await createMemory({ dir: join(root, 'memory') });
await memory.remember('The demo team answered 17 * 23 = 391.');

const tools = builtinTools({ root });
const runGoal = runGoalWith({ config, router: createDemoRouter() }, { app });
const serving = await serveHttp(() => createCadreMcpServer({ tools, runGoal, store, app, memory }), {
  port: Number(process.env.PORT ?? 0),
});
process.stdout.write(`${serving.url}\n`);
const stop = () =>
  void serving
    .close()
    .then(() => memory.close())
    .then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
