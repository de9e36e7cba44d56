import { describe, expect, it } from 'vitest';
import { parseMcpServers } from 'cadre/tools';

/** The part every client_credentials entry has; PATH stands in for a variable that is set. */
const machine = { grant: 'client_credentials', clientId: 'reports-service' } as const;

describe('parseMcpServers', () => {
  it('accepts the desktop-client format, whole file or just the servers, with cadre options', () => {
    const file = {
      mcpServers: {
        fs: {
          command: 'npx',
          args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'],
          env: { A: '1' },
          effects: { read_file: 'read' },
        },
        boxed: { command: 'node', args: ['server.js'], sandbox: true },
        helper: { command: 'node', roots: ['data', '/srv/shared'], sampling: true, elicitation: false },
        boxedWithGrants: { command: 'node', sandbox: { network: true, read: ['/srv/data'], write: ['out'] } },
        remote: {
          url: 'https://example.com/mcp',
          headers: { authorization: 'Bearer x' },
          idleTimeoutMs: 1000,
          timeoutMs: 5000,
          roots: ['file:///srv/docs'],
          sampling: false,
        },
      },
    };
    expect(parseMcpServers(file)).toEqual(file.mcpServers);
    expect(parseMcpServers(file.mcpServers)).toEqual(file.mcpServers);
  });

  it.each([
    [{ fs: { command: 'x', args: 'not-a-list' } }, /mcpServers\.fs\.args/],
    [{ fs: { command: 'x', effects: { read_file: 'harmless' } } }, /mcpServers\.fs\.effects\.read_file/],
    [{ web: { url: 'not a url' } }, /mcpServers\.web\.url/],
    [{ web: { url: 'https://x.dev', idleTimeoutMs: -1 } }, /mcpServers\.web\.idleTimeoutMs/],
    [{ both: { url: 'https://x.dev', command: 'x' } }, /mcpServers\.both: give either/],
    [{ neither: { args: [] } }, /mcpServers\.neither\.command/],
    [{ typo: { command: 'x', arg: [] } }, /mcpServers\.typo.*arg/],
    [{ boxed: { command: 'x', sandbox: { write: '/tmp' } } }, /mcpServers\.boxed\.sandbox/],
    [{ boxed: { command: 'x', sandbox: { hide: [] } } }, /mcpServers\.boxed\.sandbox/],
    [{ web: { url: 'https://x.dev', sandbox: true } }, /mcpServers\.web.*sandbox/],
    [{ fs: { command: 'x', roots: '/srv' } }, /mcpServers\.fs\.roots/],
    [{ fs: { command: 'x', roots: [''] } }, /mcpServers\.fs\.roots\.0/],
    [{ web: { url: 'https://x.dev', sampling: 'yes' } }, /mcpServers\.web\.sampling/],
    [{ web: { url: 'https://x.dev', elicitation: 1 } }, /mcpServers\.web\.elicitation/],
    ['nope', /mcpServers must be an object/],
    [
      { m2m: { url: 'https://x.dev', oauth: { grant: 'client_credentials', clientSecret: 's' } } },
      /m2m\.oauth\.clientId: is required/,
    ],
    [
      { m2m: { url: 'https://x.dev', oauth: { grant: 'client_credentials', clientId: 'c' } } },
      /m2m\.oauth\.clientSecret: is required/,
    ],
    [
      { m2m: { url: 'https://x.dev', oauth: { ...machine, clientSecret: 's', privateKeyEnv: 'PATH' } } },
      /m2m\.oauth\.clientSecret: give either clientSecret \(client_secret_basic\) or a private key/,
    ],
    [
      { m2m: { url: 'https://x.dev', oauth: { ...machine, privateKeyFile: '/nonexistent/key.pem' } } },
      /m2m\.oauth\.privateKeyFile: there is no file \/nonexistent\/key\.pem/,
    ],
    [
      { m2m: { url: 'https://x.dev', oauth: { ...machine, privateKeyEnv: 'CADRE_TEST_UNSET_KEY_VARIABLE' } } },
      /m2m\.oauth\.privateKeyEnv: the environment variable CADRE_TEST_UNSET_KEY_VARIABLE is not set/,
    ],
    [
      { m2m: { url: 'https://x.dev', oauth: { ...machine, privateKeyEnv: 'PATH', signingAlgorithm: 'HS256' } } },
      /m2m\.oauth\.signingAlgorithm/,
    ],
    [
      { m2m: { url: 'https://x.dev', oauth: { ...machine, clientSecret: 's', redirectPort: 8080 } } },
      /m2m\.oauth\.redirectPort/,
    ],
    [
      { web: { url: 'https://x.dev', oauth: { clientId: 'c', privateKeyEnv: 'PATH' } } },
      /web\.oauth\.privateKeyEnv: applies only/,
    ],
  ])('rejects %j with config_invalid naming the server and field', (value, message) => {
    expect(() => parseMcpServers(value)).toThrow(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringMatching(message) }),
    );
  });

  it('accepts client_credentials entries with a client secret or a private key', () => {
    const servers = {
      basic: { url: 'https://x.dev/mcp', oauth: { ...machine, clientSecret: 's', scope: 'reports:read' } },
      jwt: {
        url: 'https://y.dev/mcp',
        oauth: { ...machine, privateKeyEnv: 'PATH', signingAlgorithm: 'ES256', issuer: 'https://login.y.dev' },
      },
    };
    expect(parseMcpServers(servers)).toEqual(servers);
  });

  it('loads desktop-client files with disabled and autoApprove, leaving disabled servers out', () => {
    const servers = parseMcpServers({
      mcpServers: { on: { command: 'a', autoApprove: ['x'] }, off: { command: 'b', disabled: true } },
    });
    expect(Object.keys(servers)).toEqual(['on']);
  });
});
