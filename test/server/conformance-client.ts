/**
 * The client .ci/mcp-conformance-client.sh hands to the MCP conformance suite's client mode: cadre's
 * own MCP client (`createMcpToolset`, `loginMcpServer`, the `ToolExecutor`) used as a person would.
 * The suite runs it as `tsx conformance-client.ts <server-url>`, with the scenario's data (a
 * pre-registered client, or a machine's client credentials: a secret or a private key) in
 * `MCP_CONFORMANCE_CONTEXT`, which goes into the server's `oauth` entry as a user would write it
 * there, and through the same validation. It connects and lists the server's tools;
 * when the server wants a login it logs in, following the authorization URL as a browser does, and
 * connects again; then it calls every tool once with arguments its input schema asks for, accepting
 * any elicitation as the form stands. Exits 1, with the reason on stderr, when any of that fails.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CadreError, type ErrorInfo } from 'cadre';
import {
  ToolExecutor,
  createMcpToolset,
  loginMcpServer,
  parseMcpServers,
  type McpEvent,
  type McpHttpServerConfig,
  type McpTool,
  type McpToolset,
} from 'cadre/tools';

const server = 'conformance';
const url = process.argv[2];
if (!url) {
  process.stderr.write('usage: conformance-client.ts <server-url>\n');
  process.exit(2);
}
const say = (line: string): void => void process.stderr.write(`${line}\n`);

// The suite's authorization servers that accept client metadata documents take this URL as one
// (nothing is fetched); a user names the https URL where their own document is served.
const clientMetadataUrl = 'https://conformance-test.local/client-metadata.json';
const root = await mkdtemp(join(tmpdir(), 'cadre-conformance-client-'));
const oauthDir = join(root, 'mcp-auth');
const needsLogin = (error: ErrorInfo | undefined): boolean => error?.code === 'mcp_auth_required';

let config: McpHttpServerConfig;
try {
  const oauth = await oauthOptions(process.env.MCP_CONFORMANCE_CONTEXT);
  config = parseMcpServers({ [server]: { url, oauth } })[server] as McpHttpServerConfig;
  let { toolset, failure } = await open();
  if (needsLogin(failure)) {
    await toolset.close();
    await login();
    ({ toolset, failure } = await open());
  }
  if (failure) throw new CadreError('tool_failed', failure.message);
  try {
    const executor = new ToolExecutor({ tools: toolset.tools() });
    for (const tool of toolset.tools()) {
      let outcome = await call(executor, tool);
      // A server asking for more than the login granted (step-up): log in again, as the error says.
      if (needsLogin(outcome.error)) {
        await login();
        outcome = await call(executor, tool);
      }
      if (!outcome.ok) throw new CadreError('tool_failed', outcome.error?.message ?? `${tool.mcpName} failed`);
      say(`${tool.mcpName}: ${outcome.output}`);
    }
  } finally {
    await toolset.close();
  }
} catch (error) {
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await rm(root, { recursive: true, force: true });
}
// Exits now rather than when the last socket closes: the verdict is in.
process.exit();

/** A toolset on the suite's server, and the error its connection failed with, if it did. */
async function open(): Promise<{ toolset: McpToolset; failure: ErrorInfo | undefined }> {
  let failure: ErrorInfo | undefined;
  const toolset = await createMcpToolset({
    servers: { [server]: config },
    oauthDir,
    // The person at the keyboard accepts the form as it stands: cadre fills in the schema's defaults.
    elicit: async () => ({ action: 'accept', content: {} }),
    onEvent: (event: McpEvent) => {
      if (event.type === 'mcp.state') failure = event.state === 'failed' ? event.error : undefined;
    },
  });
  say(`connected: ${toolset.tools().length} tool(s)${failure ? `; ${failure.message}` : ''}`);
  return { toolset, failure };
}

/** `cadre mcp login`, with a browser that follows the authorization server's redirect back to cadre. */
async function login(): Promise<void> {
  let followed: Promise<void> | undefined;
  const result = await loginMcpServer({
    server,
    config,
    oauthDir,
    timeoutMs: 20_000,
    onAuthorizationUrl: (authorizationUrl) => {
      followed = followInBrowser(authorizationUrl).catch((error: unknown) =>
        say(`browser: ${error instanceof Error ? error.message : String(error)}`),
      );
    },
  });
  await followed;
  say(`login: ${result.status}`);
}

async function followInBrowser(authorizationUrl: URL): Promise<void> {
  const response = await fetch(authorizationUrl, { redirect: 'manual' });
  const location = response.headers.get('location');
  if (!location) throw new Error(`the authorization server answered ${response.status} without a redirect`);
  await (await fetch(new URL(location, authorizationUrl))).text();
}

function call(executor: ToolExecutor, tool: McpTool) {
  return executor.execute(
    { id: `call-${tool.mcpName}`, name: tool.name, args: sampleArguments(tool.jsonSchema) },
    { runId: 'conformance', taskId: 'conformance', step: 1 },
  );
}

/** Arguments for a tool's required fields: the schema's default or example, else a plain value of its type. */
function sampleArguments(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  return Object.fromEntries(required.map((name) => [name, sampleValue(properties[name] ?? {})]));
}

function sampleValue(field: Record<string, unknown>): unknown {
  if (field.default !== undefined) return field.default;
  if (Array.isArray(field.examples) && field.examples.length > 0) return field.examples[0];
  if (Array.isArray(field.enum) && field.enum.length > 0) return field.enum[0];
  const type = Array.isArray(field.type) ? field.type[0] : field.type;
  switch (type) {
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return sampleArguments(field);
    default:
      return 'test';
  }
}

/** What a scenario hands the client in `MCP_CONFORMANCE_CONTEXT`. */
interface ScenarioContext {
  name?: string;
  client_id?: string;
  client_secret?: string;
  private_key_pem?: string;
  signing_algorithm?: string;
}

/**
 * The server's `oauth` entry, as a user writes it for what the scenario hands out. The
 * client-credentials scenarios stand for a machine's server, whose owner sets the grant, with the
 * secret or with the private key saved to a file (0600); the others for a person's login, with a
 * pre-registered client where there is one.
 */
async function oauthOptions(raw: string | undefined): Promise<Record<string, unknown>> {
  const context = (raw ? JSON.parse(raw) : {}) as ScenarioContext;
  const client = {
    ...(typeof context.client_id === 'string' ? { clientId: context.client_id } : {}),
    ...(typeof context.client_secret === 'string' ? { clientSecret: context.client_secret } : {}),
  };
  if (!context.name?.startsWith('auth/client-credentials')) return { clientMetadataUrl, ...client };
  if (typeof context.private_key_pem !== 'string') return { grant: 'client_credentials', ...client };
  const privateKeyFile = join(root, 'client-key.pem');
  await writeFile(privateKeyFile, context.private_key_pem, { mode: 0o600 });
  return {
    grant: 'client_credentials',
    ...client,
    privateKeyFile,
    ...(typeof context.signing_algorithm === 'string' ? { signingAlgorithm: context.signing_algorithm } : {}),
  };
}
