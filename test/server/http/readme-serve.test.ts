import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startServe, stopServeProcesses } from '../../fixtures/serve-process.js';
import { parseFrames } from './http-fixtures.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);
// Runs keep to the test's data folder; plain output, so the lines read below are not split by colour codes.
const env = { ...process.env, CADRE_DATABASE_PATH: '', NO_COLOR: '1' };
afterEach(stopServeProcesses);

/** The README's "## Serve" section, up to the next section. */
const serveSection = (() => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Serve\n');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
})();

/** The fenced code blocks of the section in `lang`. */
const blocks = (lang: string) =>
  [...serveSection.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

/** `cadre serve` (the README's `npx cadre serve`) in its own process, on a free port and a fresh data folder. */
async function serve(data: string) {
  const server = await startServe({ data });
  expect(server.printedKey).toBeDefined();
  return { ...server, printedKey: server.printedKey! };
}

// 17 * 23 + sqrt(1764) = 391 + 42
const answer = '433';

describe("the README's Serve section, run as written", () => {
  it('serves the demo team: curl with stream, and the openai client snippet, both get the answer', async () => {
    const [shell] = blocks('sh');
    expect(shell).toMatch(/^npx cadre serve$/m);
    // The curl command with its continuation lines: up to the first line not ending in a backslash.
    const curl = /^curl [\s\S]*?[^\\]$/m.exec(shell!)?.[0];
    expect(curl, 'the curl line of the README').toBeDefined();
    const snippet = blocks('ts').find((b) => b.includes("from 'openai'"));
    expect(snippet, 'the openai client snippet of the README').toBeDefined();

    const data = mkdtempSync(join(tmpdir(), 'cadre-readme-'));
    const server = await serve(data);
    // "make more with `cadre keys create`"
    const created = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'keys', 'create', '--name', 'readme', '--data', data, '--json'],
      { cwd: root, env, encoding: 'utf8' },
    );
    expect(created.status, created.stderr).toBe(0);
    const madeKey = (JSON.parse(created.stdout) as { key: string }).key;

    // The curl line, with the port this server got.
    expect(curl).toContain('localhost:7700');
    const command = curl!.replace('localhost:7700', `localhost:${server.port}`);
    const curled = spawnSync('curl', ['--version']).status === 0;
    const sse = curled
      ? (await run('bash', ['-c', command], { env: { ...env, KEY: server.printedKey }, timeout: 30_000 })).stdout
      : await (async () => {
          // No curl here: the same request, as the line makes it.
          const body = /-d '([^']*)'/.exec(curl!)![1]!;
          const response = await fetch(`${server.url}/runs`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${server.printedKey}`, 'Content-Type': 'application/json' },
            body,
          });
          return response.text();
        })();
    const frames = parseFrames(sse);
    expect(frames.at(-2)!.data).toMatchObject({ type: 'run.completed', status: 'completed' });
    expect(String(frames.at(-2)!.data.answer)).toContain(answer);
    expect(frames.at(-1)!.data).toMatchObject({ type: 'stream.end', status: 'completed' });

    // The openai snippet as written, but for the port and where `openai` is installed.
    const openaiEntry = pathToFileURL(join(root, 'node_modules/openai/index.mjs')).href;
    expect(snippet).toContain("'http://127.0.0.1:7700/v1'");
    const file = join(data, 'readme-openai.mts');
    writeFileSync(
      file,
      snippet!
        .replace("from 'openai'", `from '${openaiEntry}'`)
        .replace("'http://127.0.0.1:7700/v1'", `'${server.url}/v1'`),
    );
    const streamed = await run(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...env, CADRE_KEY: madeKey },
      timeout: 30_000,
    });
    expect(streamed.stdout).toContain(answer);

    // And the same calls from here, with the client this package tests against.
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: madeKey });
    const stream = await openai.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: 'Work out `(17 * 23) + sqrt(1764)`' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain(answer);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 60_000);
});
