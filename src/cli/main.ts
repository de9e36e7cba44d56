#!/usr/bin/env node
import { setMaxListeners } from 'node:events';
import { Command, InvalidArgumentError } from 'commander';
import pc from 'picocolors';
import { CadreError } from '../core/errors.js';
import type { CadreConfigInput } from '../core/config.js';
import { packageVersion } from './package-version.js';
import { jsonObject, keyValue, nonNegative, positiveInt } from './arg-parsers.js';
import { addEvalCommand } from './eval-command.js';
import { addJobsCommands } from './jobs-commands.js';

// Each command loads its module (and through it the framework) only when it runs, so `--help`,
// `--version` and bad flags answer at once.
const runGoalModule = () => import('./run-goal.js');

// LangGraph adds one abort listener per running task to its run's signal; a wide plan passes
// Node's default warning threshold of 10 without leaking anything.
setMaxListeners(0);

// The folder it lists is the current one, which exists wherever cadre is installed.
const demoGoal =
  'Prepare a short briefing: work out `(17 * 23) + sqrt(1764)`, list what is in the current folder `.`, and tell me the current UTC time.';

interface RunFlags {
  json?: boolean;
  stream?: boolean;
  model?: string;
  maxSteps?: number;
  maxCost?: number;
  workspace?: string;
  scripted?: boolean;
  approvePlan?: boolean;
  approveLater?: boolean;
  data?: string;
  concurrency?: number;
}

const configFrom = (flags: RunFlags): CadreConfigInput => ({
  model: flags.model,
  maxSteps: flags.maxSteps,
  maxCostUsd: flags.maxCost,
  workspaceDir: flags.workspace,
  dataDir: flags.data,
  concurrency: flags.concurrency,
});

const approvals = (flags: RunFlags & { sensitive?: boolean }) => ({
  approvePlan: Boolean(flags.approvePlan),
  approveLater: Boolean(flags.approveLater),
  ...(flags.sensitive ? { privacy: 'sensitive' as const } : {}),
});

const program = new Command('cadre')
  .description('Plan a goal and carry it out with agents over local and cloud models.')
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride();

const withRunFlags = (command: Command) =>
  command
    .option('--json', 'print events as JSON lines instead of live progress')
    .option('--stream', 'with --json, also print model.delta events (reply text as it streams, not stored)')
    .option('--model <provider:model>', 'use this model, e.g. ollama:llama3.1 or openai:gpt-4o-mini')
    .option('--max-steps <n>', 'most model calls for the run', positiveInt)
    .option('--max-cost <usd>', 'most US dollars the run may spend', nonNegative)
    .option('--workspace <dir>', 'folder the file tools may read and write (default: current folder)')
    .option('--data <dir>', 'where runs are stored (default: .cadre)')
    .option('--concurrency <n>', 'tasks that may work at the same time', positiveInt)
    .option('--approve-plan', 'show the plan and ask before running it')
    .option(
      '--approve-later',
      'stop at a tool call that needs approval; answer it with cadre resume <runId> --approve | --reject',
    )
    .option('--sensitive', 'keep every model call on local models');

withRunFlags(program.command('run').argument('[goal]', 'what you want done').description('carry out a goal'))
  .option('--scripted', 'use the scripted model even when a real one is reachable')
  .option('--prompt <server/name>', "an MCP server's prompt as the goal (the goal given, if any, follows it)")
  .option('--prompt-arg <key=value>', 'an argument of the prompt (repeatable)', keyValue)
  .action(
    async (given: string | undefined, flags: RunFlags & { prompt?: string; promptArg?: Record<string, string> }) => {
      if (!given && !flags.prompt) program.error('cadre run needs a goal, or --prompt <server>/<name>');
      const goal = flags.prompt
        ? await (
            await import('./mcp-command.js')
          ).promptGoal({ config: configFrom(flags), prompt: flags.prompt, args: flags.promptArg ?? {}, goal: given })
        : given!;
      process.exitCode = await (
        await runGoalModule()
      ).runGoal({
        goal,
        config: configFrom(flags),
        json: Boolean(flags.json),
        stream: Boolean(flags.stream),
        scripted: flags.scripted ? 'force' : 'never',
        ...approvals(flags),
      });
    },
  );

withRunFlags(
  program.command('demo').description('run a sample goal; uses the scripted model when no real one is reachable'),
).action(async (flags: RunFlags) => {
  process.exitCode = await (
    await runGoalModule()
  ).runGoal({
    goal: demoGoal,
    config: configFrom(flags),
    json: Boolean(flags.json),
    stream: Boolean(flags.stream),
    scripted: 'auto',
    ...approvals(flags),
  });
});

program
  .command('resume')
  .argument('<runId>', 'the run to continue')
  .description('continue a run that was stopped, crashed or is waiting for approval')
  .option('--json', 'print events as JSON lines')
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .option('--approve', 'approve what the run waits for: its plan, or a tool call')
  .option('--reject', 'reject what the run waits for: its plan, or a tool call')
  .option('--reason <text>', 'why, kept with the decision (a rejected tool call shows it to the model)')
  .option('--answer <json>', 'answer an MCP server\'s question the run waits for, e.g. \'{"name": "Ana"}\'', jsonObject)
  .option('--app <module>', 'the app registry of a run started by name (default: CADRE_APP or ./cadre.app.ts)')
  .action(
    async (
      runId: string,
      flags: {
        json?: boolean;
        data?: string;
        approve?: boolean;
        reject?: boolean;
        reason?: string;
        answer?: Record<string, unknown>;
        app?: string;
      },
    ) => {
      const reason = flags.reason ?? (flags.reject ? 'rejected with cadre resume --reject' : undefined);
      const action =
        flags.approve || flags.answer ? ('approve' as const) : flags.reject ? ('reject' as const) : undefined;
      const decision = action
        ? { action, ...(reason ? { reason } : {}), ...(flags.answer ? { content: flags.answer } : {}) }
        : undefined;
      process.exitCode = await (
        await runGoalModule()
      ).resumeRun({
        runId,
        config: { dataDir: flags.data },
        json: Boolean(flags.json),
        ...(decision ? { decision } : {}),
        ...(flags.app ? { app: flags.app } : {}),
      });
    },
  );

program
  .command('serve')
  .description('serve the HTTP API (runs of the teams in the app registry) on 127.0.0.1')
  .option('--port <n>', 'port (default 7700; 0 for any free one)', (v) => (v === '0' ? 0 : positiveInt(v)))
  .option('--host <host>', 'interface to bind (default 127.0.0.1: this machine only)')
  .option('--app <module>', 'the app registry (default: CADRE_APP or ./cadre.app.ts, .js, .mjs)')
  .option('--data <dir>', 'where runs and API keys are stored (default: .cadre)')
  .option('--workers <n>', 'jobs the server runs at once (default 2; 0: leave them to `cadre worker`)', (v) =>
    v === '0' ? 0 : positiveInt(v),
  )
  .action(async (flags: { port?: number; host?: string; app?: string; data?: string; workers?: number }) => {
    process.exitCode = await (
      await import('./serve-command.js')
    ).serve({
      config: { dataDir: flags.data },
      ...(flags.port !== undefined ? { port: flags.port } : {}),
      ...(flags.host ? { host: flags.host } : {}),
      ...(flags.app ? { app: flags.app } : {}),
      ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    });
  });

const keysCommand = program.command('keys').description('API keys of `cadre serve` (stored hashed)');
keysCommand
  .command('create')
  .description('make a key and print it once')
  .option('--name <name>', 'what the key is for')
  .option('--admin', "the key sees and acts on every key's runs")
  .option('--data <dir>', 'where runs and API keys are stored (default: .cadre)')
  .option('--json', 'print JSON')
  .action(async (flags: { name?: string; admin?: boolean; data?: string; json?: boolean }) => {
    process.exitCode = await (
      await import('./keys-command.js')
    ).createKey({
      config: { dataDir: flags.data },
      admin: Boolean(flags.admin),
      json: Boolean(flags.json),
      ...(flags.name ? { name: flags.name } : {}),
    });
  });
keysCommand
  .command('list')
  .description('every key: id, name, admin, created, revoked (never the key)')
  .option('--data <dir>', 'where runs and API keys are stored (default: .cadre)')
  .option('--json', 'print JSON lines')
  .action(async (flags: { data?: string; json?: boolean }) => {
    process.exitCode = await (
      await import('./keys-command.js')
    ).listKeys({
      config: { dataDir: flags.data },
      json: Boolean(flags.json),
    });
  });
keysCommand
  .command('revoke')
  .argument('<id>', 'the key id, as `cadre keys list` shows it')
  .description('stop a key working, at once')
  .option('--data <dir>', 'where runs and API keys are stored (default: .cadre)')
  .action(async (id: string, flags: { data?: string }) => {
    process.exitCode = await (await import('./keys-command.js')).revokeKey({ config: { dataDir: flags.data }, id });
  });

const dbCommand = program.command('db').description('the PostgreSQL database of the run store');
dbCommand
  .command('migrate')
  .description("create or update cadre's tables to the newest version")
  .option('--database-url <url>', 'the database (default: CADRE_DATABASE_URL)')
  .option('--json', 'print JSON')
  .action(async (flags: { databaseUrl?: string; json?: boolean }) => {
    process.exitCode = await (
      await import('./db-command.js')
    ).migrateDatabase({
      config: {},
      json: Boolean(flags.json),
      ...(flags.databaseUrl ? { databaseUrl: flags.databaseUrl } : {}),
    });
  });

program
  .command('runs')
  .description('list runs, newest first, with their status')
  .option('--json', 'print JSON lines')
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .option('--limit <n>', 'how many runs', positiveInt, 20)
  .action(async (flags: { json?: boolean; data?: string; limit: number }) => {
    process.exitCode = await (
      await import('./runs-command.js')
    ).listRuns({
      config: { dataDir: flags.data },
      json: Boolean(flags.json),
      limit: flags.limit,
    });
  });

const threadsCommand = program
  .command('threads')
  .description("list the conversations of `cadre serve` (every key's), newest first")
  .option('--json', 'print JSON lines')
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .option('--limit <n>', 'how many threads', positiveInt, 20)
  .action(async (flags: { json?: boolean; data?: string; limit: number }) => {
    process.exitCode = await (
      await import('./threads-command.js')
    ).listThreads({
      config: { dataDir: flags.data },
      json: Boolean(flags.json),
      limit: flags.limit,
    });
  });
threadsCommand
  .command('show')
  .argument('<id>', 'the thread')
  .description('one thread and its messages, in order')
  .option('--json', 'print JSON')
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .action(async (id: string, _flags: unknown, command: Command) => {
    // `threads` takes --json and --data too, and may parse them first.
    const flags = command.optsWithGlobals<{ json?: boolean; data?: string }>();
    process.exitCode = await (
      await import('./threads-command.js')
    ).showThread({
      config: { dataDir: flags.data },
      id,
      json: Boolean(flags.json),
    });
  });

program
  .command('events')
  .argument('<runId>', 'the run')
  .description("print a run's stored events as JSON lines")
  .option('--from <seq>', 'first seq to print', positiveInt, 1)
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .action(async (runId: string, flags: { from: number; data?: string }) => {
    process.exitCode = await (
      await import('./runs-command.js')
    ).printEvents({
      config: { dataDir: flags.data },
      runId,
      from: flags.from,
    });
  });

program
  .command('models')
  .description('list the model providers cadre can reach and their models')
  .option('--json', 'print JSON')
  .option('--probe', 'find out what each pool model can do (tools, JSON, vision, context window); results are cached')
  .option('--live', 'with --probe, also ask each model for one tool call and one JSON answer')
  .action(async (flags: { json?: boolean; probe?: boolean; live?: boolean }) => {
    process.exitCode = await (
      await import('./models-command.js')
    ).listModels({ json: Boolean(flags.json), probe: Boolean(flags.probe), live: Boolean(flags.live) });
  });

const routeCommand = program.command('route').description('model routing: which model a request gets, and why');
routeCommand
  .command('explain')
  .description(
    'show the model a prompt would be routed to, with privacy, rules, fallbacks and exclusions (calls no model)',
  )
  .argument('<prompt>', 'the request text (scanned for personal data, never printed back)')
  .option('--kind <kind>', 'task kind: plan, reason, code, extract, summarise, classify, chat, ...')
  .option('--sensitive', 'label the request sensitive (local models only)')
  .option('--needs <capabilities>', 'comma-separated: tools, json, vision')
  .option('--budget <remaining/limit>', 'cost budget left and total in USD, e.g. 0.2/1')
  .option('--json', 'print JSON')
  .action(
    async (
      prompt: string,
      flags: { kind?: string; sensitive?: boolean; needs?: string; budget?: string; json?: boolean },
    ) => {
      const needs = (flags.needs ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = needs.filter((n) => !['tools', 'json', 'vision'].includes(n));
      if (unknown.length)
        throw new InvalidArgumentError(`unknown capability: ${unknown.join(', ')} (tools, json, vision)`);
      const budget = flags.budget?.match(/^(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/);
      if (flags.budget && !budget)
        throw new InvalidArgumentError('--budget must look like 0.2/1 (remaining/limit in USD)');
      process.exitCode = await (
        await import('./route-command.js')
      ).explainRoute({
        prompt,
        json: Boolean(flags.json),
        needs: needs as Array<'tools' | 'json' | 'vision'>,
        ...(flags.kind ? { taskKind: flags.kind } : {}),
        ...(flags.sensitive ? { privacy: 'sensitive' as const } : {}),
        ...(budget ? { budget: { remainingUsd: Number(budget[1]), limitUsd: Number(budget[2]) } } : {}),
      });
    },
  );

const memoryCommand = program
  .command('memory')
  .description('inspect the memory runs share (<data>/memory, or Qdrant / Neo4j when configured)');
memoryCommand
  .command('search')
  .argument('<query>', 'what to recall')
  .option('--budget <tokens>', 'most tokens in the result', positiveInt, 800)
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .option('--json', 'print JSON')
  .action(async (query: string, flags: { budget: number; data?: string; json?: boolean }) => {
    process.exitCode = await (
      await import('./memory-command.js')
    ).searchMemory({ config: { dataDir: flags.data }, query, budget: flags.budget, json: Boolean(flags.json) });
  });
memoryCommand
  .command('graph')
  .argument('<entity>', 'an entity name')
  .option('--as-of <date>', 'facts as they stood on this date (YYYY-MM-DD)')
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .option('--json', 'print JSON')
  .action(async (entity: string, flags: { asOf?: string; data?: string; json?: boolean }) => {
    process.exitCode = await (
      await import('./memory-command.js')
    ).showGraph({
      config: { dataDir: flags.data },
      entity,
      json: Boolean(flags.json),
      ...(flags.asOf ? { asOf: flags.asOf } : {}),
    });
  });
memoryCommand
  .command('stats')
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .option('--json', 'print JSON')
  .action(async (flags: { data?: string; json?: boolean }) => {
    process.exitCode = await (
      await import('./memory-command.js')
    ).memoryStats({ config: { dataDir: flags.data }, json: Boolean(flags.json) });
  });

const mcpCommand = program
  .command('mcp')
  .description('MCP servers: the ones cadre uses (mcpServers in cadre.config.json), and cadre as one');
mcpCommand
  .command('list')
  .description('configured servers, their state, and their tools with effects and approval state')
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .option('--json', 'print JSON')
  .action(async (flags: { data?: string; json?: boolean }) => {
    process.exitCode = await (
      await import('./mcp-command.js')
    ).listMcp({ config: { dataDir: flags.data }, json: Boolean(flags.json) });
  });
mcpCommand
  .command('prompts')
  .argument('[server]', 'only this server (default: every server that offers prompts)')
  .description('prompts the MCP servers offer, with their arguments (* = required)')
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .option('--json', 'print JSON')
  .action(async (server: string | undefined, flags: { data?: string; json?: boolean }) => {
    process.exitCode = await (
      await import('./mcp-command.js')
    ).listMcpPrompts({ config: { dataDir: flags.data }, json: Boolean(flags.json), ...(server ? { server } : {}) });
  });
mcpCommand
  .command('approve')
  .argument('<tool>', 'the namespaced tool name, as `cadre mcp list` shows it')
  .description('trust a tool again after its server changed its description or schema')
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .action(async (tool: string, flags: { data?: string }) => {
    process.exitCode = await (
      await import('./mcp-command.js')
    ).approveMcpTool({ config: { dataDir: flags.data }, tool });
  });
mcpCommand
  .command('login')
  .argument('<server>', 'an HTTP server of mcpServers that asks for OAuth')
  .description('log in to an MCP server (OAuth 2.1: prints a URL to open; tokens saved under the data dir)')
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .option('--json', 'print JSON')
  .action(async (server: string, flags: { data?: string; json?: boolean }) => {
    process.exitCode = await (
      await import('./mcp-login-command.js')
    ).loginMcp({ config: { dataDir: flags.data }, server, json: Boolean(flags.json) });
  });
mcpCommand
  .command('logout')
  .argument('<server>', 'the MCP server whose saved login to forget')
  .description("forget an MCP server's saved tokens and client registration")
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .action(async (server: string, flags: { data?: string }) => {
    process.exitCode = (await import('./mcp-login-command.js')).logoutMcp({ config: { dataDir: flags.data }, server });
  });
mcpCommand
  .command('serve')
  .description("serve cadre's tools and run_goal to MCP clients (stdio by default)")
  .option('--http', 'serve Streamable HTTP on 127.0.0.1 instead of stdio')
  .option('--port <n>', 'HTTP port (default: any free port)', positiveInt)
  .option('--token <token>', 'require this bearer token (HTTP)')
  .action(async (flags: { http?: boolean; port?: number; token?: string }) => {
    process.exitCode = await (
      await import('./mcp-command.js')
    ).serveMcp({
      config: {},
      http: Boolean(flags.http),
      port: flags.port ?? 0,
      ...(flags.token ? { token: flags.token } : {}),
    });
  });

program
  .command('audit')
  .description('tool calls, allowed or refused, newest first (arguments redacted)')
  .option('--run <runId>', 'only this run')
  .option('--tool <name>', 'only this tool')
  .option('--decision <decision>', 'allowed | denied | approval_denied | quarantined | rate_limited')
  .option('--limit <n>', 'how many', positiveInt, 50)
  .option('--data <dir>', 'where runs are stored (default: .cadre)')
  .option('--json', 'print JSON lines')
  .action(
    async (flags: { run?: string; tool?: string; decision?: string; limit: number; data?: string; json?: boolean }) => {
      const decisions = ['allowed', 'denied', 'approval_denied', 'quarantined', 'rate_limited'] as const;
      if (flags.decision && !decisions.includes(flags.decision as never))
        throw new InvalidArgumentError(`--decision must be one of ${decisions.join(', ')}`);
      process.exitCode = await (
        await import('./audit-command.js')
      ).listAudit({
        config: { dataDir: flags.data },
        limit: flags.limit,
        json: Boolean(flags.json),
        ...(flags.run ? { runId: flags.run } : {}),
        ...(flags.tool ? { tool: flags.tool } : {}),
        ...(flags.decision ? { decision: flags.decision as (typeof decisions)[number] } : {}),
      });
    },
  );

addEvalCommand(program);
addJobsCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = report(error);
}

/**
 * One line on stderr (and, with --json, one JSON object on stdout, so a program reading stdout
 * always gets an answer); exit 2 for what the user can fix, 1 for the rest.
 */
function report(error: unknown): number {
  if (
    typeof error === 'object' &&
    error !== null &&
    'exitCode' in error &&
    'code' in error &&
    String(error.code).startsWith('commander.')
  ) {
    return Number(error.exitCode) === 0 ? 0 : 2; // commander already printed its message
  }
  const cadre = CadreError.from(error);
  if (process.argv.includes('--json'))
    process.stdout.write(
      `${JSON.stringify({ type: 'error', code: cadre.code, kind: cadre.kind, message: cadre.message })}\n`,
    );
  process.stderr.write(`${pc.red('error')} ${cadre.code}: ${cadre.message}\n`);
  return cadre.kind === 'user' ? 2 : 1;
}
