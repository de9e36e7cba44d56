import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFrames } from './http-fixtures.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
// Runs in the test's folder keep to its database; the suite's `:memory:` default would not be shared.
// Plain output: picocolors colours it under CI=true, which would split the lines read below.
const env = { ...process.env, CADRE_DATABASE_PATH: '', NO_COLOR: '1' };
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** `cadre serve` in its own process: its URL, and the API key it printed, if any. */
async function serve(dataDir: string): Promise<{ child: ChildProcessWithoutNullStreams; url: string; key?: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--data', dataDir],
    {
      cwd: root,
      env,
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const url = /cadre serving (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1];
      if (url)
        resolve({
          child,
          url,
          ...(/cadre_\w{12}_[\w-]{43}/.exec(stdout) ? { key: /cadre_\w{12}_[\w-]{43}/.exec(stdout)![0] } : {}),
        });
    });
    child.once('exit', (code) => reject(new Error(`cadre serve exited ${code}: ${stderr}`)));
  });
}

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env, encoding: 'utf8' });

describe('cadre serve and cadre keys', () => {
  it('serves the demo team with the key it printed on first start, and stops gracefully on SIGTERM', async () => {
    const data = mkdtempSync(join(tmpdir(), 'cadre-serve-'));
    const first = await serve(data);
    expect(first.key).toBeDefined();
    const headers = { Authorization: `Bearer ${first.key}`, 'Content-Type': 'application/json' };
    const response = await fetch(`${first.url}/runs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ team: 'demo', goal: 'Work out `6 * 7`', stream: true }),
    });
    expect(response.status).toBe(200);
    const frames = parseFrames(await response.text());
    expect(frames.at(-2)!.data).toMatchObject({ type: 'run.completed', status: 'completed' });
    expect(String(frames.at(-2)!.data.answer)).toContain('42');
    const exited = new Promise<number | null>((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGTERM');
    expect(await exited).toBe(0);

    // A key exists now: the second start prints none, and the first key still works.
    const second = await serve(data);
    expect(second.key).toBeUndefined();
    const listed = await fetch(`${second.url}/runs`, { headers });
    expect(((await listed.json()) as { runs: unknown[] }).runs).toHaveLength(1);

    const created = cli('keys', 'create', '--name', 'ci', '--data', data, '--json');
    expect(created.status).toBe(0);
    const made = JSON.parse(created.stdout) as { id: string; key: string };
    const keys = cli('keys', 'list', '--data', data, '--json')
      .stdout.trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; name: string; key?: string });
    expect(keys.map((k) => k.name)).toEqual(['first', 'ci']);
    expect(keys.every((k) => k.key === undefined)).toBe(true);
    const other = { Authorization: `Bearer ${made.key}` };
    // A new key sees none of the first key's runs; revoked, it is refused by the running server at once.
    expect(
      ((await (await fetch(`${second.url}/runs`, { headers: other })).json()) as { runs: unknown[] }).runs,
    ).toEqual([]);
    expect(cli('keys', 'revoke', made.id, '--data', data).status).toBe(0);
    expect((await fetch(`${second.url}/runs`, { headers: other })).status).toBe(401);
    expect(cli('keys', 'revoke', made.id, '--data', data).status).toBe(2);
    second.child.kill('SIGTERM');
  }, 60_000);

  it('refuses an app module that is missing, with its code and exit 2', () => {
    const result = cli(
      'serve',
      '--port',
      '0',
      '--app',
      'no-such-app.mjs',
      '--data',
      mkdtempSync(join(tmpdir(), 'cadre-serve-')),
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/app_not_found/);
  });
});
