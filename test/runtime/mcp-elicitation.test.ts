import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { run, type CadreEventOf } from 'cadre';
import type { McpElicitRequest } from 'cadre/tools';
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
