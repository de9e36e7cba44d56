import { describe, expect, it } from 'vitest';
import { loadConfig, resume, run, type CadreConfigInput } from 'cadre';
import { ScriptedChatModel } from 'cadre/testing';

const model = new ScriptedChatModel({ replies: ['done'] });
const base = { goal: 'g', agent: { name: 'a', instructions: 'x' }, model, config: { databasePath: ':memory:' } };
const thrown = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    return error as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error('expected a throw');
};

describe('options passed in code are checked like the config file', () => {
  it('refuses an unknown config field, suggesting the field it resembles', () => {
    const typo = thrown(() => run({ ...base, config: { databasePath: ':memory:', maxCostUSD: 0.01 } as never }));
    expect(typo).toMatchObject({ code: 'config_invalid', details: { key: 'maxCostUSD', suggestion: 'maxCostUsd' } });
    expect(typo.message).toContain('did you mean "maxCostUsd"?');
    const bogus = thrown(() => run({ ...base, config: { bogus: 1 } as never }));
    expect(bogus).toMatchObject({ code: 'config_invalid', details: { key: 'bogus' } });
    expect(() => loadConfig({ concurency: 2 } as never)).toThrow(/did you mean "concurrency"/);
  });

  it('refuses an unknown run() or resume() option, pointing a config field to `config`', () => {
    const misplaced = thrown(() => run({ ...base, maxCostUsd: 'abc' } as never));
    expect(misplaced).toMatchObject({ code: 'input_invalid', details: { key: 'maxCostUsd' } });
    expect(misplaced.message).toContain('pass it as `config: { maxCostUsd }`');
    expect(thrown(() => run({ ...base, rolse: [] } as never))).toMatchObject({
      code: 'input_invalid',
      details: { suggestion: 'roles' },
    });
    expect(thrown(() => resume('run_x', { decisoin: { action: 'approve' } } as never))).toMatchObject({
      code: 'input_invalid',
      details: { suggestion: 'decision' },
    });
  });

  it('refuses option values of the wrong kind, naming the option', () => {
    expect(thrown(() => run({ ...base, privacy: 'secret' } as never)).message).toMatch(
      /"privacy" must be 'public' or 'sensitive'/,
    );
    expect(thrown(() => run({ ...base, approveTool: 'later' } as never)).message).toMatch(/"approveTool"/);
    expect(thrown(() => run({ ...base, tools: {} } as never)).message).toMatch(/"tools" must be an array/);
  });

  it('types config fields precisely, so TypeScript catches a wrong value first', () => {
    // @ts-expect-error maxCostUsd is a number
    const wrong: CadreConfigInput = { maxCostUsd: 'abc' };
    expect(() => loadConfig(wrong)).toThrow(/maxCostUsd/);
  });

  it('checks an agent spec again once it was changed in place after a run', async () => {
    const agent = { name: 'a', instructions: 'x' };
    const model = new ScriptedChatModel({ replies: ['done'] });
    expect((await run({ ...base, agent, model }).result).status).toBe('completed');
    agent.name = 'not a valid name!';
    const error = thrown(() => run({ ...base, agent, model }));
    expect(error.code).toBe('input_invalid');
    expect(error.message).toContain('Invalid agent spec');
  });

  it('still runs with correct options', async () => {
    const result = await run({ ...base, config: { databasePath: ':memory:', maxCostUsd: 1 } }).result;
    expect(result.status).toBe('completed');
  });
});
