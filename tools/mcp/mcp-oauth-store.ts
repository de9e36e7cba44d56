import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { CadreError } from '../../src/core/index.js';

/** What cadre keeps for one OAuth-protected MCP server between processes. */
export interface McpOAuthRecord {
  /** The server URL the record belongs to; a changed URL starts afresh. */
  serverUrl: string;
  /** The client registered with the authorization server (dynamic registration). */
  client?: OAuthClientInformationMixed;
  tokens?: OAuthTokens;
  /** When the tokens were saved (ms), so their `expires_in` can be read as an instant. */
  savedAt?: number;
  /** Authorization server and resource metadata found by discovery. */
  discovery?: OAuthDiscoveryState;
  /** The PKCE verifier of a login in progress. */
  codeVerifier?: string;
  /** The scope the server asked for beyond the saved login's (403 `insufficient_scope`); the next login asks for it. */
  scope?: string;
}

/**
 * Tokens and client registrations of OAuth-protected MCP servers, one JSON file per server in
 * `dir` (the data dir's `mcp-auth`): the folder 0700, each file 0600, written whole and renamed into
 * place so a crash never leaves half a file. Nothing here is ever logged.
 */
export class McpOAuthStore {
  constructor(private readonly dir: string) {}

  /** The file of a server: its name made safe, plus a digest of its URL (a new URL is a new login). */
  private fileOf(server: string, serverUrl: string): string {
    const safe = server.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
    const digest = createHash('sha256').update(serverUrl).digest('hex').slice(0, 12);
    return join(this.dir, `${safe}-${digest}.json`);
  }

  /** The server's saved login; an empty record when there is none (or it was for another URL). */
  read(server: string, serverUrl: string): McpOAuthRecord {
    try {
      const record = JSON.parse(readFileSync(this.fileOf(server, serverUrl), 'utf8')) as McpOAuthRecord;
      return record.serverUrl === serverUrl ? record : { serverUrl };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { serverUrl };
      throw new CadreError('store_failed', `Cannot read the saved login of MCP server "${server}"`, { cause: error });
    }
  }

  /** Applies `change` to the server's record and writes it back. */
  update(server: string, serverUrl: string, change: (record: McpOAuthRecord) => McpOAuthRecord): void {
    const next = change(this.read(server, serverUrl));
    const file = this.fileOf(server, serverUrl);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(next)}\n`, { mode: 0o600 });
    renameSync(temporary, file);
  }

  /** Forgets the server's login: tokens, registration and discovery. */
  remove(server: string, serverUrl: string): boolean {
    const file = this.fileOf(server, serverUrl);
    try {
      rmSync(file);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }
}
