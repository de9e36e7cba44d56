import { existsSync } from 'node:fs';
import { z } from 'zod';

/** Algorithms a `private_key_jwt` assertion may be signed with: RSA, RSA-PSS and ECDSA keys. */
export const mcpSigningAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;

const grantSchema = z.enum(['authorization_code', 'client_credentials']);

const oauthOptionsSchema = z.strictObject({
  /**
   * `authorization_code` (default): a person logs in once with `cadre mcp login`.
   * `client_credentials`: for machines and services; cadre gets tokens by itself with `clientId`
   * and either `clientSecret` or a private key, and nobody logs in.
   */
  grant: grantSchema.optional(),
  clientId: z.string().min(1).optional(),
  /** With `client_credentials`, sent as HTTP Basic (`client_secret_basic`). */
  clientSecret: z.string().min(1).optional(),
  scope: z.string().min(1).optional(),
  clientName: z.string().min(1).optional(),
  /** The loopback port `cadre mcp login` listens on for the browser's return; default: any free port. */
  redirectPort: z.number().int().min(1).max(65_535).optional(),
  /**
   * An https URL serving cadre's client metadata document: used as the client id by authorization
   * servers that accept such documents, instead of registering.
   */
  clientMetadataUrl: z
    .url({ protocol: /^https$/, error: 'must be an https URL' })
    .refine((url) => new URL(url).pathname !== '/', 'must name a document, not the site root')
    .optional(),
  /**
   * `client_credentials` with `private_key_jwt`: a PEM file holding the client's private key
   * (absolute, or relative to the working directory).
   */
  privateKeyFile: z.string().min(1).optional(),
  /** `client_credentials` with `private_key_jwt`: the environment variable holding the PEM instead. */
  privateKeyEnv: z.string().min(1).optional(),
  /** The assertion's algorithm. Default: RS256 for an RSA key, ES256/ES384/ES512 for an EC key by its curve. */
  signingAlgorithm: z.enum(mcpSigningAlgorithms).optional(),
  /**
   * `client_credentials`: the authorization server the credentials were issued by. When set, they
   * are sent to no other; without it, to the one the server names, and then to that one only.
   */
  issuer: z.url().optional(),
});

/** The fields only a `client_credentials` entry uses, and those only a browser login uses. */
const clientCredentialsOnly = ['privateKeyFile', 'privateKeyEnv', 'signingAlgorithm', 'issuer'] as const;
const browserLoginOnly = ['redirectPort', 'clientMetadataUrl'] as const;

/** Cross-field rules: each failure names the field to change, so the message says what to fix. */
function checkGrant(oauth: z.infer<typeof oauthOptionsSchema>, ctx: z.RefinementCtx): void {
  const fail = (field: keyof typeof oauth, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
  if (oauth.grant !== 'client_credentials') {
    for (const field of clientCredentialsOnly) {
      if (oauth[field] !== undefined) fail(field, 'applies only with "grant": "client_credentials"');
    }
    return;
  }
  const hasKey = oauth.privateKeyFile !== undefined || oauth.privateKeyEnv !== undefined;
  if (!oauth.clientId) fail('clientId', 'is required with "grant": "client_credentials"');
  for (const field of browserLoginOnly) {
    if (oauth[field] !== undefined) fail(field, 'has no use with "grant": "client_credentials": nobody logs in');
  }
  if (oauth.privateKeyFile !== undefined && oauth.privateKeyEnv !== undefined) {
    fail('privateKeyEnv', 'give either privateKeyFile or privateKeyEnv, not both');
  }
  if (oauth.clientSecret !== undefined && hasKey) {
    fail('clientSecret', 'give either clientSecret (client_secret_basic) or a private key (private_key_jwt), not both');
  }
  if (oauth.clientSecret === undefined && !hasKey) {
    fail('clientSecret', 'is required with "grant": "client_credentials", unless privateKeyFile or privateKeyEnv is');
  }
  if (oauth.signingAlgorithm !== undefined && !hasKey) fail('signingAlgorithm', 'applies only to a private key');
  if (oauth.privateKeyFile !== undefined && !existsSync(oauth.privateKeyFile)) {
    fail('privateKeyFile', `there is no file ${oauth.privateKeyFile}`);
  }
  if (oauth.privateKeyEnv !== undefined && !process.env[oauth.privateKeyEnv]) {
    fail('privateKeyEnv', `the environment variable ${oauth.privateKeyEnv} is not set`);
  }
}

/**
 * OAuth 2.1 for a server that asks for it (a 401 naming its authorization server): on by default,
 * with dynamic client registration and a login through the browser; an object names a
 * pre-registered client, the scope to ask for, or the `client_credentials` grant; `false` never
 * answers a 401 with a login.
 */
export const oauthSchema = z.union([z.literal(false), oauthOptionsSchema.superRefine(checkGrant)]);

/** A server entry's `oauth` object. */
export type McpOAuthOptions = z.infer<typeof oauthOptionsSchema>;

/** An `oauth` object with the `client_credentials` grant, as the schema lets it through. */
export type McpClientCredentialsOptions = McpOAuthOptions & { grant: 'client_credentials'; clientId: string };

/** True when the server's tokens come from its client credentials rather than a person's login. */
export function isClientCredentials(oauth: McpOAuthOptions | false | undefined): oauth is McpClientCredentialsOptions {
  return typeof oauth === 'object' && oauth.grant === 'client_credentials' && typeof oauth.clientId === 'string';
}
