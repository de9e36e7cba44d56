import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BaseMessage } from '@langchain/core/messages';
import { describe, expect, it } from 'vitest';
import { openCadreStore, run, type CadreEvent, type CadreEventOf } from 'cadre';
import { createPolicyRouter, poolModel } from 'cadre/models';
import { AuditLog } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';
import { collect } from '../fixtures/run-events.js';
import { everythingStdio } from '../tools/mcp/mcp-servers.js';

const samplingTool = 'everything__trigger-sampling-request';
const isSampling = (messages: readonly BaseMessage[]) =>
  messages.some((m) => m.getType() === 'system' && String(m.content).includes('helpful test server'));

/**
 * A model that answers both the agent (one call of server-everything's sampling tool, then the
 * tool's text as the answer) and the server's sampling requests (`sampled by <name>`).
 */
const scripted = (name: string) =>
  new ScriptedChatModel({
    respond: ({ messages, toolResults }) => {
      if (isSampling(messages)) return { content: `sampled by ${name}`, usage: { inputTokens: 30, outputTokens: 4 } };
      if (toolResults.length) return `answer: ${toolResults[0]!.content}`;
      return { toolCalls: [{ name: samplingTool, args: { prompt: 'the weather', maxTokens: 20 } }] };
    },
  });

function setUp() {
  const local = scripted('local');
  const cloud = scripted('cloud');
  const router = createPolicyRouter({
    models: [
      { model: poolModel({ provider: 'openai', model: 'gpt-4o', strength: 9 }), chat: cloud },
      { model: poolModel({ provider: 'ollama', model: 'llama3.1', capabilities: { tools: true } }), chat: local },
    ],
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'cadre-sampling-'));
  const config = {
    ollamaHost: 'http://127.0.0.1:2',
    dataDir,
    databasePath: join(dataDir, 'cadre.db'),
    mcpServers: { everything: everythingStdio({ sampling: true, effects: { 'trigger-sampling-request': 'read' } }) },
  };
  const agent = { name: 'asker', instructions: 'Use the sampling tool.' };
  const audit = () =>
    new AuditLog(openCadreStore({ path: join(dataDir, 'cadre.db') }).db).list({ tool: 'everything/sampling' });
  return { local, cloud, router, config, agent, audit };
}

const ofType = <T extends CadreEvent['type']>(events: CadreEvent[], type: T) =>
  events.filter((e): e is CadreEventOf<T> => e.type === type);

describe("an MCP server's sampling requests in a run", { timeout: 60_000 }, () => {
  it('go through the run’s router, are charged to the run and audited', async () => {
    const { cloud, router, config, agent, audit } = setUp();
    const { result, events } = await collect(run({ goal: 'What is the weather?', agent, router, config }));
    expect(result.status).toBe('completed');
    expect(result.answer).toContain('sampled by cloud');
    const sampled = ofType(events, 'model.response').filter((e) => e.taskId === 'mcp:everything');
    expect(sampled).toEqual([
      expect.objectContaining({ model: 'gpt-4o', content: 'sampled by cloud', usage: expect.anything() }),
    ]);
    // Three calls of the cloud model: two by the agent, one by the server; all of them in the run's spend.
    expect(cloud.calls).toBe(3);
    expect(result.models).toEqual([expect.objectContaining({ model: 'gpt-4o', calls: 3 })]);
    expect(result.usage.inputTokens).toBeGreaterThanOrEqual(30);
    const records = audit();
    expect(records).toEqual([
      expect.objectContaining({ decision: 'allowed', args: expect.objectContaining({ model: 'gpt-4o' }) }),
    ]);
  });

  it('stay on local models in a sensitive run', async () => {
    const { local, cloud, router, config, agent } = setUp();
    const { result, events } = await collect(
      run({ goal: 'What is the weather?', agent, router, config, privacy: 'sensitive' }),
    );
    expect(result.status).toBe('completed');
    expect(result.answer).toContain('sampled by local');
    expect(cloud.calls).toBe(0);
    expect(local.calls).toBe(3);
    const routed = ofType(events, 'model.routed').filter((e) => e.taskId === 'mcp:everything');
    expect(routed[0]).toMatchObject({ provider: 'ollama', privacy: 'sensitive' });
  });

  it('are refused once the run’s budget is spent, and the refusal is audited', async () => {
    const { local, cloud, router, config, agent, audit } = setUp();
    const { result } = await collect(
      run({ goal: 'What is the weather?', agent, router, config: { ...config, maxSteps: 1 } }),
    );
    // The agent's first call took the only step: the server's request gets no model, and the run stops.
    expect(result.status).toBe('budget_exceeded');
    expect(cloud.calls + local.calls).toBe(1);
    const records = audit();
    expect(records).toEqual([
      expect.objectContaining({ decision: 'denied', error: expect.stringMatching(/^budget_exceeded/) }),
    ]);
  });
});
