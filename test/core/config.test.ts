import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    const env = {
      CADRE_MAX_STEPS: '7',
      CADRE_MODEL_ORDER: 'openai, ollama',
      OLLAMA_HOST: 'gpu-box:11434',
      OPENAI_API_KEY: 'sk-test',
    };
    const config = loadConfig({ maxSteps: 3 }, env);
    expect(config.maxSteps).toBe(3);
    expect(config.modelOrder).toEqual(['openai', 'ollama']);
    expect(config.ollamaHost).toBe('http://gpu-box:11434');
    expect(config.openaiApiKey).toBe('sk-test');
    expect(loadConfig({}, env).maxSteps).toBe(7);
  });

  it('gives back a config it made as it is, and reads the environment again for any other input', () => {
    const previous = process.env.CADRE_MAX_STEPS;
    process.env.CADRE_MAX_STEPS = '9';
    try {
      const loaded = loadConfig({ logLevel: 'silent' });
      expect(loaded.maxSteps).toBe(9);
      process.env.CADRE_MAX_STEPS = '4';
      expect(loadConfig(loaded)).toBe(loaded);
      expect(loadConfig({ logLevel: 'silent' }).maxSteps).toBe(4);
      // A copy is input like any other.
      expect(loadConfig({ ...loaded, maxSteps: undefined }).maxSteps).toBe(4);
    } finally {
      if (previous === undefined) delete process.env.CADRE_MAX_STEPS;
      else process.env.CADRE_MAX_STEPS = previous;
    }
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

  it('reads a config file below the environment, and names the file for a bad or unknown field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadre-config-'));
    const path = join(dir, 'cadre.config.json');
    writeFileSync(path, JSON.stringify({ maxSteps: 9, concurrency: 2, mcpServers: { fs: { command: 'mcp-fs' } } }));
    const config = loadConfig({}, { CADRE_CONFIG: path, CADRE_CONCURRENCY: '3' });
    expect(config).toMatchObject({ maxSteps: 9, concurrency: 3, mcpServers: { fs: { command: 'mcp-fs' } } });
    writeFileSync(path, JSON.stringify({ maxStep: 9 }));
    expect(() => loadConfig({}, { CADRE_CONFIG: path })).toThrow(/Unknown field in .*cadre\.config\.json: maxStep/);
    writeFileSync(path, JSON.stringify({ maxSteps: 'many' }));
    expect(() => loadConfig({}, { CADRE_CONFIG: path })).toThrow(/maxSteps \(from .*cadre\.config\.json\)/);
    writeFileSync(path, '{ not json');
    expect(() => loadConfig({}, { CADRE_CONFIG: path })).toThrow(CadreError);
  });
});
