/**
 * MCP: an agent uses the reference filesystem MCP server (`@modelcontextprotocol/server-filesystem`)
 * configured in the `mcpServers` format desktop AI clients use, under a tool policy: reads and
 * writes are allowed, and the server's `move_file` is marked destructive, so it needs approval —
 * which this program gives for one call and refuses for the next. Runs offline on the scripted model.
 *
 *   npx tsx examples/mcp.ts
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from 'cadre';
import { StaticPlanner } from 'cadre/planners';
import { scriptedApprovals } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';

const folder = mkdtempSync(join(tmpdir(), 'cadre-mcp-example-'));
writeFileSync(join(folder, 'notes.txt'), 'buy milk\ncall Ana\n');
const filesystem = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-filesystem/dist/index.js');

const mcpServers = {
  files: { command: process.execPath, args: [filesystem, folder], effects: { move_file: 'destructive' as const } },
};

// Reads the notes, writes a summary, then tries to move files twice.
const script = [
  { toolCalls: [{ name: 'files__read_text_file', args: { path: join(folder, 'notes.txt') } }] },
  {
    toolCalls: [{ name: 'files__write_file', args: { path: join(folder, 'summary.txt'), content: '2 things to do' } }],
  },
  {
    toolCalls: [
      { name: 'files__move_file', args: { source: join(folder, 'notes.txt'), destination: join(folder, 'done.txt') } },
    ],
  },
  {
    toolCalls: [
      {
        name: 'files__move_file',
        args: { source: join(folder, 'summary.txt'), destination: join(folder, 'gone.txt') },
      },
    ],
  },
  'I read the notes, wrote a summary and archived the notes; the second move was refused.',
];
const model = new ScriptedChatModel({ replies: script });
const approvals = scriptedApprovals([true, false]);

const handle = run({
  goal: 'Summarise my notes and archive them',
  roles: [
    {
      name: 'assistant',
      description: 'works with files',
      agent: { name: 'assistant', instructions: 'Use the file tools.' },
    },
  ],
  planner: new StaticPlanner({
    goal: 'notes',
    tasks: [
      {
        id: 'notes',
        title: 'Notes',
        instruction: 'Summarise and archive the notes.',
        role: 'assistant',
        dependsOn: [],
      },
    ],
  }),
  model,
  approveTool: approvals,
  config: { dataDir: folder, mcpServers },
});
for await (const event of handle.events()) {
  if (event.type === 'tool.result')
    console.log(
      `${event.ok ? 'ok ' : 'err'} ${event.tool}: ${event.ok ? event.output.split('\n')[0] : event.error?.message}`,
    );
}
const result = await handle.result;
console.log(`approvals asked: ${approvals.requests.map((r) => r.tool).join(', ')}`);
console.log(`summary.txt: ${readFileSync(join(folder, 'summary.txt'), 'utf8')}`);
console.log(`${result.status}: ${result.answer}`);
