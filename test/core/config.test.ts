import { describe, expect, it } from 'vitest';
import { CadreError, loadConfig } from 'cadre';

describe('loadConfig', () => {
  it('applies defaults with an empty environment', () => {
    const config = loadConfig({}, {});
    expect(config.maxSteps).toBe(20);
    expect(config.ollamaHost).toBe('http://127.0.0.1:11434');
    expect(config.modelOrder).toEqual(['ollama', 'local', 'openai', 'anthropic']);
  });

  it('reads CADRE_* and well-known provider variables, explicit options winning', () => {
    const env = { CADRE_MAX_STEPS: '7', CADRE_MODEL_ORDER: 'openai, ollama', OLLAMA_HOST: 'gpu-box:11434', OPENAI_API_KEY: 'sk-test' };
    const config = loadConfig({ maxSteps: 3 }, env);
    expect(config.maxSteps).toBe(3);
    expect(config.modelOrder).toEqual(['openai', 'ollama']);
    expect(config.ollamaHost).toBe('http://gpu-box:11434');
    expect(config.openaiApiKey).toBe('sk-test');
    expect(loadConfig({}, env).maxSteps).toBe(7);
  });

  it('names the bad field and the variable it came from', () => {
    let caught: unknown;
    try {
      loadConfig({}, { CADRE_MAX_STEPS: 'abc', CADRE_MODEL_ORDER: 'ollama,gpt' });
    } catch (error) {
      caught = error;
    }
    expect(CadreError.isInstance(caught)).toBe(true);
    const error = caught as CadreError;
    expect(error.code).toBe('config_invalid');
    expect(error.kind).toBe('user');
    expect(error.message).toContain('maxSteps (from CADRE_MAX_STEPS)');
    expect(error.message).toContain('modelOrder (from CADRE_MODEL_ORDER)');
  });

  it('rejects a model that is not provider:model', () => {
    expect(() => loadConfig({ model: 'llama3' }, {})).toThrow(/model \(from option\): expected provider:model/);
  });
});
