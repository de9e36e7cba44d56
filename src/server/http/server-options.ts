import { z } from 'zod';
import { CadreError, csv } from '../../core/index.js';

const list = z.preprocess(csv, z.array(z.string().min(1)));

/** The HTTP server's settings; each has a default and a `CADRE_SERVE_*` variable (e.g. `CADRE_SERVE_PORT`). */
export const HttpServerOptionsSchema = z.object({
  /** Interface to bind; the default keeps the server on this machine. */
  host: z.string().min(1).default('127.0.0.1'),
  /** 0: any free port. */
  port: z.coerce.number().int().min(0).max(65_535).default(7700),
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Browser origins allowed to call the API (CORS), e.g. `http://localhost:3000`; none by default. */
  corsOrigins: list.default([]),
  /** Host header values accepted besides this server's loopback names and port (behind a proxy). */
  allowedHosts: list.default([]),
  /** Requests one API key may make per minute. */
  rateLimitPerMinute: z.coerce.number().int().positive().default(600),
  /** An event stream whose client reads nothing for this long is cut off (it resumes by Last-Event-ID). */
  sseStallMs: z.coerce.number().int().positive().default(30_000),
  /** A comment line keeps an event stream open through proxies after this long without anything sent. */
  sseHeartbeatMs: z.coerce.number().int().positive().default(15_000),
  /**
   * How often a stream looks at the record of a run another process carries out (its events come as
   * they are stored), and whether a thread's queued message's run has started.
   */
  ssePollMs: z.coerce.number().int().positive().default(250),
  /** On shutdown, how long running runs get to reach their next step before streams are closed. */
  drainMs: z.coerce.number().int().positive().default(10_000),
  /** Jobs the server's own worker runs at once (0: none; run `cadre worker` processes instead). */
  workers: z.coerce.number().int().min(0).max(256).default(2),
  /** `tools` or `functions` in a `/v1/chat/completions` request: `reject` (400) or `ignore` (dropped). */
  openaiTools: z.enum(['reject', 'ignore']).default('reject'),
});

/** The HTTP server's settings once loaded. */
export type HttpServerOptions = z.infer<typeof HttpServerOptionsSchema>;
/** The HTTP server's settings as code passes them: every field optional. */
export type HttpServerOptionsInput = z.input<typeof HttpServerOptionsSchema>;

const envName = (field: string) => `CADRE_SERVE_${field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** Defaults, then `CADRE_SERVE_*` variables, then `options`; `config_invalid` names every bad field. */
export function loadHttpServerOptions(
  options: HttpServerOptionsInput = {},
  env: NodeJS.ProcessEnv = process.env,
): HttpServerOptions {
  const fromEnv = Object.fromEntries(
    Object.keys(HttpServerOptionsSchema.shape)
      .map((field) => [field, env[envName(field)]] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const explicit = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const parsed = HttpServerOptionsSchema.safeParse({ ...fromEnv, ...explicit });
  if (parsed.success) return parsed.data;
  const text = parsed.error.issues
    .map((issue) => {
      const field = String(issue.path[0] ?? '(root)');
      return `${field}${field in explicit ? '' : ` (from ${envName(field)})`}: ${issue.message}`;
    })
    .join('; ');
  throw new CadreError('config_invalid', `Invalid server settings: ${text}`);
}
