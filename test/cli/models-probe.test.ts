import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { json, startWireServer } from '../fixtures/wire-server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let server: Awaited<ReturnType<typeof startWireServer>> | undefined;
afterEach(async () => server?.close());

// The fake server must keep answering while the CLI runs, so the child is spawned, not run synchronously.
function cadre(
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

describe('cadre models --probe', { timeout: 120_000 }, () => {
  it('lists every model Ollama has with the capabilities /api/show reports, then answers from the cache', async () => {
    server = await startWireServer((req, res) => {
      if (req.path === '/api/tags')
        return json(res, 200, {
          models: [{ name: 'qwen3:8b', model: 'qwen3:8b', size: 5e9, digest: 'x', details: {} }],
        });
      if (req.path === '/api/show') {
        return json(res, 200, {
          capabilities: ['completion', 'tools'],
          model_info: { 'general.architecture': 'qwen3', 'qwen3.context_length': 40960 },
        });
      }
      return json(res, 404, { error: 'not found' });
    });
    const dir = mkdtempSync(join(tmpdir(), 'cadre-probe-'));
    const env = {
      CADRE_OLLAMA_HOST: server.url,
      CADRE_MODEL_ORDER: 'ollama',
      CADRE_DATA_DIR: dir,
      CADRE_DATABASE_PATH: join(dir, 'cadre.db'),
    };

    const first = await cadre(['models', '--probe', '--json'], env);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual([
      expect.objectContaining({
        id: 'ollama:qwen3:8b',
        location: 'local',
        source: 'ollama',
        cached: false,
        capabilities: { tools: true, json: true, vision: false, contextWindow: 40960 },
      }),
    ]);

    const second = await cadre(['models', '--probe', '--json'], env);
    expect(JSON.parse(second.stdout)).toEqual([
      expect.objectContaining({
        id: 'ollama:qwen3:8b',
        cached: true,
        capabilities: { tools: true, json: true, vision: false, contextWindow: 40960 },
      }),
    ]);
    expect(server.requests.filter((r) => r.path === '/api/show')).toHaveLength(1);
  });
});
