import { spawn } from 'node:child_process';
import { z } from 'zod';
import { CadreError } from '../../src/core/index.js';
import { defineTool, type Tool } from '../define-tool.js';
import { findExecutable } from '../sandbox/find-executable.js';
import { sandboxCommand, type SandboxOptions } from '../sandbox/sandbox-command.js';
import { resolveInsideRoot } from './path-guard.js';

/** Where the shell tool runs commands, which executables it may run, and its limits. */
export interface ShellToolOptions {
  /** The folder commands run in (or below); `cwd` may not leave it. */
  root: string;
  /** Executables that may run: bare names (looked up on PATH) or absolute paths. */
  allow: readonly string[];
  /** Default 30 s; the process is sent SIGTERM, then SIGKILL after a short grace. */
  timeoutMs?: number;
  /** Most characters of combined stdout+stderr kept. Default 16,000. */
  outputMaxChars?: number;
  /** Environment for the child. Default: PATH, HOME, LANG only, so secrets in ours do not leak. */
  env?: NodeJS.ProcessEnv;
  /**
   * Run each command under bubblewrap (Linux): read-only system, no network, writes only inside
   * `root` (and `write`), no home folder or data dir. Default `true`; a missing bwrap is then a
   * `sandbox_unavailable` error, never an unsandboxed run. `false` turns it off explicitly.
   */
  sandbox?: boolean | SandboxOptions;
}

const killGraceMs = 500;
// One plain executable name or path: no spaces or shell syntax, even though no shell ever sees it.
const commandPattern = /^[A-Za-z0-9._/+-]{1,256}$/;

/**
 * `run_command`: runs one allowed executable with literal arguments (never through a shell), in a
 * folder inside `root`, with a timeout and capped output, under bubblewrap unless `sandbox: false`.
 * Not among the default tools; add it explicitly.
 */
export function createShellTool(options: ShellToolOptions): Tool {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const outputMaxChars = options.outputMaxChars ?? 16_000;
  const env = options.env ?? { PATH: process.env.PATH, HOME: process.env.HOME, LANG: process.env.LANG };
  const sandbox = options.sandbox === false ? undefined : options.sandbox === true ? {} : (options.sandbox ?? {});
  let allowed: Promise<Set<string>> | undefined;
  const allowedPaths = () =>
    (allowed ??= Promise.all(options.allow.map((entry) => findExecutable(entry, env.PATH))).then(
      (paths) => new Set(paths.filter((p): p is string => p !== undefined)),
    ));

  return defineTool({
    name: 'run_command',
    description: `Run one program with arguments (no shell: pipes, redirects and ; are passed literally). Allowed programs: ${options.allow.join(', ') || 'none'}.${sandbox ? ` Runs sandboxed: writes only inside the workspace${sandbox.network ? '' : ', no network'}.` : ''}`,
    input: z.object({
      command: z.string().regex(commandPattern, 'must be one executable name, without spaces or shell syntax'),
      args: z.array(z.string().max(8192)).max(256).default([]),
      cwd: z.string().max(4096).optional().describe('folder relative to the workspace root'),
    }),
    effects: 'destructive',
    idempotent: false,
    // Our own timer kills the child; the executor's limit is only a backstop.
    timeoutMs: timeoutMs + killGraceMs + 1_000,
    run: async ({ command, args, cwd }, context) => {
      const resolved = await findExecutable(command, env.PATH);
      if (!resolved || !(await allowedPaths()).has(resolved)) {
        throw new CadreError(
          'input_invalid',
          `Command "${command}" is not allowed. Allowed: ${options.allow.join(', ') || 'none'}`,
          { details: { command } },
        );
      }
      const { path: dir, root } = await resolveInsideRoot(options.root, cwd ?? '.');
      const launch = sandbox
        ? await sandboxCommand(
            { file: resolved, args, cwd: dir, env },
            { ...sandbox, write: [root, ...(sandbox.write ?? [])] },
          )
        : { file: resolved, args, cwd: dir, env };
      return runProcess({
        file: launch.file,
        args: [...launch.args],
        cwd: launch.cwd,
        env: launch.env,
        timeoutMs,
        outputMaxChars,
        signal: context.signal,
        label: command,
      });
    },
  });
}

interface ProcessRequest {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  outputMaxChars: number;
  signal: AbortSignal;
  label: string;
}

/** Spawns without a shell and collects output up to the cap; rejects on non-zero exit or timeout. */
function runProcess(request: ProcessRequest): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(request.file, request.args, {
      cwd: request.cwd,
      env: request.env,
      shell: false,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let dropped = 0;
    let timedOut = false;
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      const room = request.outputMaxChars - output.length;
      output += text.slice(0, Math.max(0, room));
      dropped += Math.max(0, text.length - Math.max(0, room));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let killTimer: NodeJS.Timeout | undefined;
    // The child leads its own process group, so a timeout also ends anything it started.
    const signalGroup = (name: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, name);
      } catch {
        child.kill(name);
      }
    };
    const stop = () => {
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), killGraceMs);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, request.timeoutMs);
    request.signal.addEventListener('abort', stop, { once: true });
    const text = () => (dropped > 0 ? `${output}\n…[output truncated: ${dropped} more characters]` : output);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new CadreError('tool_failed', `${request.label} could not start: ${error.message}`, { cause: error }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      request.signal.removeEventListener('abort', stop);
      const tail = text().slice(-2000);
      if (timedOut)
        return reject(
          new CadreError(
            'timeout',
            `${request.label} took longer than ${request.timeoutMs} ms and was killed. Output tail:\n${tail}`,
          ),
        );
      if (code === 0) return resolve(text());
      const status = code === null ? `signal ${signal}` : `exit code ${code}`;
      reject(
        new CadreError('tool_failed', `${request.label} failed with ${status}. Output tail:\n${tail}`, {
          details: { exitCode: code, signal },
        }),
      );
    });
  });
}
