/** Fixture for mcp-stdio.test.ts: one echo tool served over stdin/stdout. */
import { z } from 'zod';
import { defineTool } from '../../tools/define-tool.js';
import { createCadreMcpServer, serveStdio } from '../../src/server/mcp/index.js';

const echo = defineTool({
  name: 'echo',
  description: 'Returns its text.',
  input: z.object({ text: z.string() }),
  effects: 'read',
  run: ({ text }) => text,
});
await serveStdio(createCadreMcpServer({ tools: [echo] }));
