import { z } from 'zod';
import { CadreError } from '../../src/core/index.js';
import { oauthSchema } from './mcp-oauth-config.js';

const effectsSchema = z.enum(['read', 'write', 'destructive']);

/** Options cadre adds to every server entry of the usual `mcpServers` format. */
const cadreOptions = {
  /** Some clients write the transport kind; cadre tells it from `command` or `url`. */
  type: z.enum(['stdio', 'http', 'streamable-http', 'streamableHttp', 'sse']).optional(),
  /** Shut the server down after this long without calls. Default 5 minutes. */
  idleTimeoutMs: z.number().int().positive().optional(),
  /** Effects per MCP tool name; unlisted tools count as `write` (server annotations are not trusted). */
  effects: z.record(z.string(), effectsSchema).optional(),
  /**
   * Per MCP tool name: `true` when repeating a call is harmless, `'keyed'` when the server
   * deduplicates by the idempotency key cadre sends in `_meta`; unlisted tools count as `false`.
   */
  idempotent: z.record(z.string(), z.union([z.boolean(), z.literal('keyed')])).optional(),
  /** Per-call limit handed to the tool executor. */
  timeoutMs: z.number().int().positive().optional(),
  /** Desktop clients' switch: a disabled server is left out. */
  disabled: z.boolean().optional(),
  /**
   * Desktop clients' auto-approval list. Accepted so existing files load, but not obeyed: what runs
   * without asking is cadre's tool policy's decision, not the server config's.
   */
  autoApprove: z.array(z.string()).optional(),
  /**
   * Offers the server roots: its `roots/list` gets the workspace and these folders (absolute paths,
   * paths relative to the workspace, or `file://` URIs; `[]` for the workspace alone). Without it
   * the server is not offered roots and keeps the folders it was started with.
   */
  roots: z.array(z.string().min(1)).optional(),
  /**
   * Roots per role: an agent of a role named here reaches its own instance of the server, offered
   * the workspace and these folders instead of `roots`; other agents share the one instance.
   */
  roleRoots: z.record(z.string().min(1), z.array(z.string().min(1))).optional(),
  /** Let the server ask cadre's models for completions (`sampling/createMessage`). Default: refused. */
  sampling: z.boolean().optional(),
  /** Let the server ask the user for input (`elicitation/create`). Default true; `false` never offers it. */
  elicitation: z.boolean().optional(),
};

/**
 * Run the server under bubblewrap: `true` (no network, writes nowhere, reads its `cwd` and the
 * system) or what it may reach besides. Paths are absolute or relative to the server's `cwd`.
 */
const sandboxSchema = z.union([
  z.boolean(),
  z.strictObject({
    network: z.boolean().optional(),
    read: z.array(z.string().min(1)).optional(),
    write: z.array(z.string().min(1)).optional(),
  }),
]);

const stdioServerSchema = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  sandbox: sandboxSchema.optional(),
  ...cadreOptions,
});

const httpServerSchema = z.strictObject({
  url: z.url(),
  headers: z.record(z.string(), z.string()).optional(),
  oauth: oauthSchema.optional(),
  ...cadreOptions,
});

/** One server entry of `mcpServers`: a command to start (stdio) or a URL to reach (HTTP). */
export const mcpServerConfigSchema = z.union([stdioServerSchema, httpServerSchema]);
/** A whole `mcpServers` object: server name → server entry. */
export const mcpServersConfigSchema = z.record(z.string().min(1), mcpServerConfigSchema);

/**
 * A server started as a child process and spoken to over stdio: `command` with `args`, `env` and
 * `cwd`, `sandbox`, plus cadre's options (`idleTimeoutMs`, `effects`, `idempotent`, `timeoutMs`, `disabled`, `roots`,
 * `sampling`, `elicitation`).
 */
export type McpStdioServerConfig = z.infer<typeof stdioServerSchema>;
/** A server reached over HTTP: `url`, `headers` and `oauth`, plus cadre's options as for stdio. */
export type McpHttpServerConfig = z.infer<typeof httpServerSchema>;
/** One server entry: stdio or HTTP. */
export type McpServerConfig = z.infer<typeof mcpServerConfigSchema>;
/** Server name → server entry, as {@link parseMcpServers} returns it. */
export type McpServersConfig = Record<string, McpServerConfig>;

export const defaultIdleTimeoutMs = 5 * 60_000;

/** True when the server is started as a child process rather than reached over HTTP. */
export function isStdioServer(config: McpServerConfig): config is McpStdioServerConfig {
  return 'command' in config;
}

/**
 * Validates an `mcpServers` object (the format desktop AI clients use); accepts the whole file
 * `{ mcpServers: {...} }` too. Throws `config_invalid` naming the server and the field.
 */
export function parseMcpServers(value: unknown): McpServersConfig {
  const root = isRecord(value) && isRecord(value.mcpServers) ? value.mcpServers : value;
  if (!isRecord(root))
    throw new CadreError('config_invalid', 'mcpServers must be an object of server name → server config');
  const servers: McpServersConfig = {};
  for (const [name, entry] of Object.entries(root)) {
    if (!name.trim()) throw new CadreError('config_invalid', 'mcpServers: a server name is empty');
    // Pick the branch by its distinguishing key so the message names the field actually wrong.
    const schema = isRecord(entry) && 'url' in entry && !('command' in entry) ? httpServerSchema : stdioServerSchema;
    if (isRecord(entry) && 'url' in entry && 'command' in entry) {
      throw new CadreError('config_invalid', `mcpServers.${name}: give either "command" or "url", not both`);
    }
    const parsed = schema.safeParse(entry);
    if (!parsed.success) {
      const issue = reportedIssue(parsed.error.issues[0]!);
      const field = issue.path.length ? `.${issue.path.join('.')}` : '';
      throw new CadreError('config_invalid', `mcpServers.${name}${field}: ${issue.message}`, {
        details: { server: name, field: issue.path.join('.') },
      });
    }
    if (!parsed.data.disabled) servers[name] = parsed.data;
  }
  return servers;
}

/**
 * The issue to name in the message. A union (`oauth` is `false` or an object) fails as a whole
 * with "Invalid input"; the branch issue that reached into a field says what is actually wrong.
 */
function reportedIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union') return issue;
  const inner = issue.errors
    .map((branch) => branch[0])
    .filter((candidate) => candidate !== undefined && candidate.path.length > 0)
    .sort((a, b) => b!.path.length - a!.path.length)[0];
  return inner ? reportedIssue({ ...inner, path: [...issue.path, ...inner.path] }) : issue;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
