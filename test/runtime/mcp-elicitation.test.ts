import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  openCadreStore,
  resume,
  run,
  type CadreEvent,
  type CadreEventOf,
  type PlanDecision,
  type ResumeOptions,
} from 'cadre';
import type { ApprovalRequest, McpElicitRequest } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';
import { askElicitation } from '../../src/cli/elicitation-prompt.js';
import { collect } from '../fixtures/run-events.js';
import { everythingStdio } from '../tools/mcp/mcp-servers.js';

const tool = 'everything__trigger-elicitation-request';
/** Calls server-everything's elicitation tool once, then answers with what the tool returned. */
const model = () =>
  new ScriptedChatModel({
    respond: ({ toolResults }) =>
      toolResults.length ? `answer: ${toolResults[0]!.content}` : { toolCalls: [{ name: tool, args: {} }] },
  });
const config = {
  ollamaHost: 'http://127.0.0.1:2',
  mcpServers: { everything: everythingStdio({ effects: { 'trigger-elicitation-request': 'read' } }) },
};
const agent = { name: 'asker', instructions: 'Ask the user.' };

async function toolOutput(options: Partial<Parameters<typeof run>[0]>) {
  const { result, events } = await collect(run({ goal: 'Who am I?', agent, model: model(), config, ...options }));
  expect(result.status).toBe('completed');
  const results = events.filter((e): e is CadreEventOf<'tool.result'> => e.type === 'tool.result');
  return results.map((e) => e.output).join('\n');
}

describe("an MCP server's questions to the user in a run", { timeout: 60_000 }, () => {
  it('reach the run’s elicit handler, whose answer goes back to the server', async () => {
    const asked: McpElicitRequest[] = [];
    const output = await toolOutput({
      elicit: async (request) => {
        asked.push(request);
        return { action: 'accept', content: { name: 'Ana Lima', check: true, integer: 7 } };
      },
    });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ server: 'everything', params: { message: expect.stringContaining('inputs') } });
    expect(output).toContain('- Name: Ana Lima');
    expect(output).toContain('- Agreed to terms: true');
    expect(output).toContain('- Favorite Integer: 7');
  });

  it('are declined, and the run goes on, when nobody can answer', async () => {
    const output = await toolOutput({});
    expect(output).not.toContain('Name:');
    expect(output).toMatch(/declin/i);
  });

  it('go to the approveTool callback when the run has no elicit handler: approved with content, they are answered', async () => {
    const asked: ApprovalRequest[] = [];
    const output = await toolOutput({
      approveTool: (request) => {
        asked.push(request);
        return Promise.resolve({ approved: true, content: { name: 'Ana Lima', check: true, integer: 7 } });
      },
    });
    expect(asked).toEqual([
      expect.objectContaining({
        tool: 'everything',
        args: {},
        reason: expect.stringContaining('MCP server "everything" asks'),
        question: {
          server: 'everything',
          message: expect.stringContaining('inputs'),
          requestedSchema: expect.objectContaining({ type: 'object', properties: expect.any(Object) }),
        },
      }),
    ]);
    expect(output).toContain('- Name: Ana Lima');
    expect(output).toContain('- Favorite Integer: 7');
  });

  it('are declined with the reason when the approveTool callback refuses, or approves without what the server requires', async () => {
    const refused = await toolOutput({
      approveTool: () => Promise.resolve({ approved: false, reason: 'not sharing that' }),
    });
    expect(refused).not.toContain('Name:');
    expect(refused).toMatch(/declin/i);
    let required: string[] = [];
    const empty = await toolOutput({
      approveTool: (request) => {
        required = (request.question?.requestedSchema.required as string[] | undefined) ?? [];
        return Promise.resolve({ approved: true });
      },
    });
    // An approval with no content cannot answer a question with required fields: declined, never sent empty.
    expect(required.length).toBeGreaterThan(0);
    expect(empty).not.toContain('Name:');
    expect(empty).toMatch(/declin/i);
  });

  it('go to the elicit handler, not to an interrupt, when a run that stops for approvals has one', async () => {
    const output = await toolOutput({
      approveTool: 'interrupt',
      config: { ...config, ...storeIn(tempDir()) },
      elicit: () => Promise.resolve({ action: 'accept', content: { name: 'Ana Lima', check: true, integer: 7 } }),
    });
    expect(output).toContain('- Name: Ana Lima');
  });

  it("are asked at the terminal field by field (the CLI's answerer), re-asking what does not parse", async () => {
    const input = new PassThrough();
    const printed = new PassThrough();
    let screen = '';
    // Without colours (CI=true turns them on for the CLI): what the person reads.
    printed.on('data', (chunk: Buffer) => (screen += stripVTControlCharacters(chunk.toString('utf8'))));
    // Answer it; name; a bad boolean then yes; defaults for the first line; email; defaults for homepage and
    // birthdate; an integer out of range then 7; the default number; choices by number, by list, by label.
    const answers = ['y', 'Ana Lima', 'maybe', 'y', '', 'ana@example.com', '', '', '500', '7', '', '2', '1,3'];
    input.end(`${[...answers, 'Wonder Woman', '', 'Dogs'].join('\n')}\n`);
    let answered: Awaited<ReturnType<typeof askElicitation>> | undefined;
    const output = await toolOutput({
      elicit: async (request) => {
        answered = await askElicitation(request, { input, output: printed });
        return answered;
      },
    });
    expect(output).toContain('- Name: Ana Lima');
    expect(output).toContain('- Agreed to terms: true');
    expect(output).toContain('- Email: ana@example.com');
    expect(output).toContain('- Favorite Integer: 7');
    expect(output).toContain('- Favorite Number: 3.14');
    expect(answered).toMatchObject({
      action: 'accept',
      content: {
        firstLine: 'It was a dark and stormy night.',
        untitledSingleSelectEnum: 'Rachel',
        untitledMultipleSelectEnum: ['Guitar', 'Violin'],
        titledSingleSelectEnum: 'hero-3',
        titledMultipleSelectEnum: ['fish-1'],
        legacyTitledEnum: 'pet-2',
      },
    });
    expect(screen).toContain('question from everything');
    expect(screen).toContain('answer y or n');
    expect(screen).toContain('between 1 and 100');
  });

  it('at the terminal: n declines, and the end of input cancels', async () => {
    const params = {
      message: 'Deploy?',
      requestedSchema: { type: 'object' as const, properties: { ok: { type: 'boolean' as const } } },
    };
    const ask = (text: string) => {
      const input = new PassThrough();
      input.end(text);
      return askElicitation({ server: 's', params }, { input, output: new PassThrough() });
    };
    expect(await ask('n\n')).toEqual({ action: 'decline' });
    expect(await ask('')).toEqual({ action: 'cancel' });
    expect(await ask('y\ny\n')).toEqual({ action: 'accept', content: { ok: true } });
  });
});

/** A run's own database and data dir (where the MCP tool list is cached), so that resume finds only its run. */
const tempDir = () => mkdtempSync(join(tmpdir(), 'cadre-elicitation-'));
const storeIn = (dir: string) => ({ databasePath: join(dir, 'cadre.db'), dataDir: dir });
const types = (events: CadreEvent[]) => events.map((e) => e.type);

/** Starts a run that stops for the question, and gives what resuming it needs: fresh options each time. */
async function waitingRun(effects: 'read' | 'write' = 'read') {
  const dir = tempDir();
  const mcpServers = { everything: everythingStdio({ effects: { 'trigger-elicitation-request': effects } }) };
  const options = () => ({ agent: { ...agent }, model: model(), config: { ...config, mcpServers, ...storeIn(dir) } });
  const { result, events } = await collect(run({ goal: 'Who am I?', ...options(), approveTool: 'interrupt' }));
  return { result, events, options, dir };
}

/** Resumes a run with a decision; the events from the resume on, and the tool's output there. */
async function resumed(runId: string, options: Omit<ResumeOptions, 'decision'>, decision: PlanDecision) {
  const { result, events: all } = await collect(resume(runId, { ...options, decision }));
  const events = all.slice(all.findIndex((e) => e.type === 'run.resumed'));
  const output = events
    .filter((e): e is CadreEventOf<'tool.result'> => e.type === 'tool.result')
    .map((e) => e.output)
    .join('\n');
  return { result, events, output };
}

describe(
  "an MCP server's question in a run with approveTool: 'interrupt' and no elicit handler",
  { timeout: 60_000 },
  () => {
    it('stops the run durably with the question, and resuming with approve and content answers the server', async () => {
      const { result, events, options, dir } = await waitingRun();
      expect(result.status).toBe('awaiting_approval');
      expect(result.approval).toMatchObject({
        kind: 'elicitation',
        server: 'everything',
        tool: 'trigger-elicitation-request',
        message: expect.stringContaining('inputs'),
        requestedSchema: { type: 'object', properties: expect.objectContaining({ name: expect.anything() }) },
        taskId: 'main',
      });
      expect(events.find((e) => e.type === 'mcp.elicitation_requested')).toMatchObject({
        server: 'everything',
        tool: 'trigger-elicitation-request',
        message: expect.stringContaining('inputs'),
      });
      // The cancelled call never reached the model: the question waits instead.
      expect(types(events)).not.toContain('tool.result');
      expect(types(events)).not.toContain('task.failed');
      // Kept in the store, not in this process: resume below reads it from there.
      const stored = openCadreStore({ path: storeIn(dir).databasePath }).runs.get(result.runId);
      expect(stored?.status).toBe('awaiting_approval');
      expect((stored?.result as { approval?: unknown }).approval).toMatchObject({ kind: 'elicitation' });

      const content = { name: 'Ana Lima', check: true, integer: 7 };
      const after = await resumed(result.runId, options(), { action: 'approve', content });
      expect(after.result.status).toBe('completed');
      expect(after.output).toContain('- Name: Ana Lima');
      expect(after.output).toContain('- Agreed to terms: true');
      expect(after.output).toContain('- Favorite Integer: 7');
      expect(after.result.answer).toContain('- Name: Ana Lima');
      expect(after.events.find((e) => e.type === 'mcp.elicitation_answered')).toMatchObject({
        server: 'everything',
        action: 'accept',
      });
      expect(types(after.events)).not.toContain('mcp.elicitation_requested');
    });

    it('runs a journaled call (effects write) again on resume, neither replayed nor reported as of unknown outcome', async () => {
      const { result, options } = await waitingRun('write');
      expect(result.status).toBe('awaiting_approval');
      const content = { name: 'Ana Lima', check: true, integer: 7 };
      const after = await resumed(result.runId, options(), { action: 'approve', content });
      expect(after.result.status).toBe('completed');
      expect(after.output).toContain('- Name: Ana Lima');
      expect(after.output).not.toContain('tool_outcome_unknown');
      expect(after.events.find((e) => e.type === 'tool.result')).toMatchObject({ ok: true, replayed: false });
    });

    it('resumed with reject: the server is told the user declined, and the run goes on', async () => {
      const { result, options } = await waitingRun();
      expect(result.status).toBe('awaiting_approval');
      // A decision that cannot answer a question is refused before anything runs; the run still waits.
      expect(() => resume(result.runId, { ...options(), decision: { action: 'edit' } })).toThrow(
        expect.objectContaining({ code: 'input_invalid' }),
      );
      expect(() =>
        resume(result.runId, { ...options(), decision: { action: 'approve', content: { check: true } } }),
      ).toThrow(/required field name/);

      const after = await resumed(result.runId, options(), { action: 'reject' });
      expect(after.result.status).toBe('completed');
      expect(after.output).toMatch(/declined/i);
      expect(after.output).not.toContain('Name:');
      expect(after.events.find((e) => e.type === 'mcp.elicitation_answered')).toMatchObject({ action: 'decline' });
    });
  },
);
