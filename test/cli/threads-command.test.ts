import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openCadreStore, ThreadStore } from '../../src/runtime/store/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function cadre(args: string[], dataDir: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, '--data', dataDir], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', OLLAMA_HOST: '127.0.0.1:2' },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('cadre threads', { timeout: 120_000 }, () => {
  it('lists the stored threads (--json) and shows one with its messages; an unknown id exits 2', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cadre-cli-threads-'));
    const store = openCadreStore({ path: join(dataDir, 'cadre.db') });
    const threads = new ThreadStore(store.db);
    const thread = threads.create({
      ownerKey: 'k1',
      ownerUser: 'ann',
      agent: 'echo',
      policy: 'enqueue',
      contextTokens: 500,
      metadata: {},
    });
    threads.append(thread.id, { role: 'user', text: 'hello there', runId: 'run_1', status: 'started' });
    threads.append(thread.id, { role: 'assistant', text: 'general greeting', runId: 'run_1', status: 'completed' });
    store.close();

    const listed = cadre(['threads', '--json'], dataDir);
    expect(listed.stderr).toBe('');
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout.trim())).toMatchObject({
      id: thread.id,
      agent: 'echo',
      key: 'k1',
      user: 'ann',
      messages: 2,
    });

    const shown = cadre(['threads', 'show', thread.id], dataDir);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toMatch(/1 user\s+hello there/);
    expect(shown.stdout).toMatch(/2 assistant general greeting/);

    const missing = cadre(['threads', 'show', 'thread_nothing'], dataDir);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('not_found');
  });
});
