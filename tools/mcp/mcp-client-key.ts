import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CadreError } from '../../src/core/index.js';
import type { McpClientCredentialsOptions } from './mcp-oauth-config.js';

/** A client's private key, ready for the SDK's `private_key_jwt` signer, and the algorithm to sign with. */
export interface McpClientKey {
  /** PKCS#8 PEM, the one form the SDK imports; a PKCS#1 or SEC1 file is converted. */
  pkcs8: string;
  algorithm: string;
}

/** The EC curve each ECDSA algorithm signs with (node's names). */
const curveOf: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/**
 * The private key an `oauth` entry names (`privateKeyFile` or `privateKeyEnv`), or undefined when
 * it uses a client secret. Read and checked when the server is first reached, so a key that is
 * unreadable or does not fit `signingAlgorithm` fails with `config_invalid` naming the field, not
 * with an error from deep inside a token request. The key's text never goes into a message.
 */
export function readClientKey(server: string, oauth: McpClientCredentialsOptions): McpClientKey | undefined {
  const field = oauth.privateKeyFile !== undefined ? 'privateKeyFile' : 'privateKeyEnv';
  const invalid = (reason: string, cause?: unknown) =>
    new CadreError('config_invalid', `mcpServers.${server}.oauth.${field}: ${reason}`, {
      ...(cause ? { cause } : {}),
      details: { server, field: `oauth.${field}` },
    });
  let pem: string;
  if (oauth.privateKeyFile !== undefined) {
    try {
      pem = readFileSync(oauth.privateKeyFile, 'utf8');
    } catch (error) {
      throw invalid(`cannot read ${oauth.privateKeyFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, error);
    }
  } else if (oauth.privateKeyEnv !== undefined) {
    // Environment files often hold a PEM on one line, its line breaks written as `\n`.
    pem = (process.env[oauth.privateKeyEnv] ?? '').replace(/\\n/g, '\n');
  } else return undefined;

  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // Not passed on as the cause: a parser's message might quote the text it choked on.
    throw invalid('does not hold an unencrypted private key in PEM form');
  }
  const usable = algorithmsFor(key);
  const algorithm = oauth.signingAlgorithm ?? usable[0];
  if (!algorithm || !usable.includes(algorithm)) {
    const kind = `${key.asymmetricKeyType ?? 'unknown'}${curveName(key) ? ` (${curveName(key)})` : ''}`;
    throw new CadreError(
      'config_invalid',
      `mcpServers.${server}.oauth.signingAlgorithm: ${algorithm ?? 'no algorithm'} does not fit the ${kind} key; ` +
        (usable.length ? `use ${usable.join(', ')}` : 'use an RSA key or an EC key on P-256, P-384 or P-521'),
      { details: { server, field: 'oauth.signingAlgorithm' } },
    );
  }
  return { pkcs8: key.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm };
}

/** What the key can sign with, the default first: RS256 for an RSA key, the ECDSA algorithm of an EC key's curve. */
function algorithmsFor(key: KeyObject): string[] {
  if (key.asymmetricKeyType === 'rsa') return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
  if (key.asymmetricKeyType === 'ec') return Object.keys(curveOf).filter((alg) => curveOf[alg] === curveName(key));
  return [];
}

const curveName = (key: KeyObject): string | undefined => key.asymmetricKeyDetails?.namedCurve;
