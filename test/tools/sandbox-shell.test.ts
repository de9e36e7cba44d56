import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CadreError } from 'cadre';
import { createShellTool, sandboxCommand, type SandboxOptions, type Tool } from 'cadre/tools';
import { hasBwrap } from './has-bwrap.js';
import { requireHere } from './mcp/required-here.js';

const ctx = { signal: new AbortController().signal, runId: 'r', taskId: 't', callId: 'c' };
const node = process.execPath;
let base: string;
let home: string;
let root: string;
let dataDir: string;

// The workspace lies inside the home folder and the data dir inside the workspace, as in a typical
// project: the sandbox must show the workspace and still hide both around and within it.
beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'cadre-sandbox-')));
  home = join(base, 'home');
  root = join(home, 'project');
  dataDir = join(root, '.cadre');
  await mkdir(join(home, '.ssh'), { recursive: true });
  await mkdir(dataDir, { recursive: true });
  await mkdir(join(base, 'outside'));
  await writeFile(join(home, '.ssh', 'id_ed25519'), 'home secret');
  await writeFile(join(dataDir, 'tokens.json'), 'data dir secret');
});
afterAll(() => rm(base, { recursive: true, force: true }));

const shell = (sandbox: boolean | SandboxOptions = { hide: [dataDir] }): Tool =>
  createShellTool({ root, allow: [node], env: { PATH: process.env.PATH, HOME: home }, sandbox });

/** Runs a Node script through run_command and returns what it printed. */
async function script(tool: Tool, source: string): Promise<string> {
  return String(await tool.run(tool.input.parse({ command: node, args: ['-e', source] }), ctx)).trim();
}

/** A script that tries `fs.<call>` and prints "ok" or the error code. */
const attempt = (call: string) =>
  `try { require('node:fs').${call}; console.log('ok') } catch (e) { console.log(e.code) }`;

// Skipped, saying why, where bubblewrap is missing; under CI=true that fails instead.
const noBwrap = hasBwrap ? undefined : 'bubblewrap (bwrap) is not installed or cannot create namespaces here';

describe('run_command in the sandbox', () => {
  beforeEach((context) => requireHere(context, noBwrap));

  it('writes inside the workspace, and the file is there on the host', async () => {
    expect(await script(shell(), attempt("writeFileSync('made-inside.txt', 'hello')"))).toBe('ok');
    expect(await readFile(join(root, 'made-inside.txt'), 'utf8')).toBe('hello');
  });

  it('cannot write to /etc, to a folder outside the workspace, or to the real /tmp', async () => {
    const probe = `cadre-sandbox-probe-${randomUUID()}`;
    const tool = shell();
    expect(await script(tool, attempt(`writeFileSync('/etc/${probe}', 'x')`))).toBe('EROFS');
    expect(await script(tool, attempt(`writeFileSync(${JSON.stringify(join(base, 'outside', probe))}, 'x')`))).toBe(
      'ENOENT',
    );
    // /tmp is a private tmpfs: the write succeeds inside and leaves nothing on the host.
    expect(await script(tool, attempt(`writeFileSync('/tmp/${probe}', 'x')`))).toBe('ok');
    expect(existsSync(join('/tmp', probe))).toBe(false);
    expect(existsSync(join('/etc', probe))).toBe(false);
    expect(existsSync(join(base, 'outside', probe))).toBe(false);
  });

  it('sees only harmless parts of /etc: no shadow, no ssh keys, no TLS private keys', async () => {
    const list = (path: string) =>
      `const fs = require('node:fs'); console.log(fs.existsSync('${path}') ? fs.readdirSync('${path}').join() : '')`;
    const etc = (await script(shell(), list('/etc'))).split(',');
    expect(etc).toEqual(expect.arrayContaining(['passwd', 'ld.so.cache', 'ssl']));
    for (const secret of ['shadow', 'gshadow', 'ssh', 'sudoers']) expect(etc).not.toContain(secret);
    expect(await script(shell(), list('/etc/ssl'))).not.toContain('private');
  });

  it('cannot read a secret in the home folder or in the data dir, though the workspace is inside both', async () => {
    const read = (path: string) => attempt(`readFileSync(${JSON.stringify(path)})`);
    const tool = shell();
    expect(await script(tool, read(join(home, '.ssh', 'id_ed25519')))).toBe('ENOENT');
    expect(await script(tool, read(join(dataDir, 'tokens.json')))).toBe('ENOENT');
    expect(await script(tool, `console.log(require('node:fs').readdirSync(${JSON.stringify(home)}).join())`)).toBe(
      'project',
    );
    // The control: the same reads succeed without the sandbox, so the checks above can fail.
    expect(await script(shell(false), read(join(home, '.ssh', 'id_ed25519')))).toBe('ok');
    expect(await script(shell(false), read(join(dataDir, 'tokens.json')))).toBe('ok');
  });

  it('refuses to grant the whole home folder or a path in the data dir, and runs nothing', async () => {
    const marker = join(root, `marker-${randomUUID()}`);
    const make = attempt(`writeFileSync(${JSON.stringify(marker)}, 'x')`);
    for (const sandbox of [
      { write: [home], hide: [dataDir] },
      { read: [join(dataDir, 'tokens.json')], hide: [dataDir] },
    ]) {
      const error = await script(shell(sandbox), make).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(CadreError.isInstance(error) && error.code).toBe('config_invalid');
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('sandboxCommand refuses a working folder outside every grant rather than start elsewhere', async () => {
    const command = { file: node, args: ['-e', '1'], cwd: join(base, 'outside'), env: {} };
    await expect(sandboxCommand(command, { write: [root] })).rejects.toMatchObject({ code: 'config_invalid' });
    await expect(sandboxCommand(command, { write: [join(base, 'outside')] })).resolves.toMatchObject({
      args: expect.arrayContaining(['--unshare-all', '--chdir', join(base, 'outside')]),
    });
  });

  describe('network', () => {
    let server: Server;
    let port: number;
    let connections = 0;
    beforeAll(async () => {
      server = createServer((socket) => {
        connections += 1;
        socket.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterEach(() => {
      connections = 0;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const dial = () =>
      `const s = require('node:net').connect(${port}, '127.0.0.1', () => { console.log('connected'); s.end() });` +
      `s.on('error', (e) => console.log(e.code))`;

    it('cannot reach a server on the host loopback by default', async () => {
      expect(await script(shell(), dial())).toBe('ECONNREFUSED');
      expect(connections).toBe(0);
    });

    it('reaches it with network: true', async () => {
      expect(await script(shell({ network: true, hide: [dataDir] }), dial())).toBe('connected');
      expect(connections).toBe(1);
    });

    it('sandbox: false runs as before: the host network and the real /tmp are reachable', async () => {
      const probe = join('/tmp', `cadre-sandbox-probe-${randomUUID()}`);
      expect(await script(shell(false), dial())).toBe('connected');
      expect(await script(shell(false), attempt(`writeFileSync(${JSON.stringify(probe)}, 'x')`))).toBe('ok');
      expect(existsSync(probe)).toBe(true);
      await rm(probe);
    });
  });
});
