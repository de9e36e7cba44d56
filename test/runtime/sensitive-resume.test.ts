import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { completion } from '../fixtures/openai-wire.js';
import { json, startWireServer } from '../fixtures/wire-server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let close: (() => Promise<void>) | undefined;
afterEach(async () => close?.());

/** One process of the fixture (spawned asynchronously: the recording server answers from this one); its last stdout line. */
function fixture(mode: 'run' | 'resume', dir: string, cloudUrl: string): Promise<{ status: string; models: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/sensitive-resume.ts', mode, dir, cloudUrl],
      { cwd: root },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', () =>
      resolve(JSON.parse(out.trim().split('\n').at(-1) || 'null') as { status: string; models: string[] }),
    );
  });
}

describe('a resumed sensitive run', () => {
  it('stays sensitive when resumed in a new process without saying so: no request reaches the cloud endpoint', async () => {
    const requests: string[] = [];
    const server = await startWireServer((request, response) => {
      requests.push(request.path);
      json(response, 200, completion({ content: 'answered in the cloud' }));
    });
    close = server.close;
    const cloudUrl = `${server.url}/v1`;
    const dir = mkdtempSync(join(tmpdir(), 'cadre-sensitive-'));
    expect((await fixture('run', dir, cloudUrl)).status).toBe('awaiting_approval');
    const resumed = await fixture('resume', dir, cloudUrl);
    expect(resumed).toEqual({ status: 'completed', models: ['llama3.1'] });
    expect(requests).toEqual([]);
  }, 60_000);
});
