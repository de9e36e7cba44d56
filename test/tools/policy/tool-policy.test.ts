import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ToolPolicy, defineTool, modelVisibleTools } from 'cadre/tools';

const tool = (name: string, effects: 'read' | 'write' | 'destructive' = 'read') =>
  defineTool({ name, description: `${name} tool`, input: z.object({}), effects, run: () => 'ok' });

describe('ToolPolicy', () => {
  it('lets a global deny glob win over a global allow glob', () => {
    const policy = new ToolPolicy({ allow: ['github__*'], deny: ['github__delete_*'] });
    expect(policy.isAllowed('github__create_issue')).toBe(true);
    expect(policy.isAllowed('github__delete_repo')).toBe(false);
    expect(policy.isAllowed('slack__post')).toBe(false); // an allow list is a whitelist
  });

  it('allows everything not denied when no allow list applies', () => {
    const policy = new ToolPolicy({ deny: ['*__delete_*'] });
    expect(policy.isAllowed('fs__read')).toBe(true);
    expect(policy.isAllowed('fs__delete_file')).toBe(false);
  });

  it('reads agent rules before role rules before global rules', () => {
    const policy = new ToolPolicy({
      deny: ['shell'],
      roles: { ops: { allow: ['shell'], deny: ['github__*'] } },
      agents: { careful: { deny: ['shell'] }, reviewer: { allow: ['github__get_*'] } },
    });
    expect(policy.isAllowed('shell')).toBe(false);
    expect(policy.isAllowed('shell', { role: 'ops' })).toBe(true);
    expect(policy.isAllowed('shell', { agent: 'careful', role: 'ops' })).toBe(false);
    expect(policy.isAllowed('github__get_pr', { agent: 'reviewer', role: 'ops' })).toBe(true);
    expect(policy.isAllowed('github__merge_pr', { agent: 'reviewer', role: 'ops' })).toBe(false);
  });

  it('makes deny win over allow at the same level', () => {
    const policy = new ToolPolicy({ agents: { a: { allow: ['fs__*'], deny: ['fs__write'] } } });
    expect(policy.isAllowed('fs__read', { agent: 'a' })).toBe(true);
    expect(policy.isAllowed('fs__write', { agent: 'a' })).toBe(false);
  });

  it('hides denied tools from what the model is shown', () => {
    const policy = new ToolPolicy({ roles: { writer: { deny: ['fs__delete'] } } });
    const tools = [tool('fs__read'), tool('fs__delete', 'destructive')];
    expect(policy.visibleTools(tools, { role: 'writer' }).map((t) => t.name)).toEqual(['fs__read']);
    expect(modelVisibleTools(tools, { policy, role: 'writer' }).map((t) => t.name)).toEqual(['fs__read']);
    expect(policy.visibleTools(tools, { role: 'other' })).toHaveLength(2);
  });

  it('asks before destructive tools by default, lets writes and reads run, and honours per-tool globs', () => {
    const defaults = new ToolPolicy({});
    expect(defaults.approvalFor(tool('rm', 'destructive'))).toBe('ask');
    expect(defaults.approvalFor(tool('save', 'write'))).toBe('allow');
    expect(defaults.approvalFor(tool('get'))).toBe('allow');
    const strict = new ToolPolicy({
      approval: { destructive: 'deny', write: 'ask', tools: { 'github__*': 'allow', 'github__merge_*': 'ask' } },
    });
    expect(strict.approvalFor(tool('rm', 'destructive'))).toBe('deny');
    expect(strict.approvalFor(tool('save', 'write'))).toBe('ask');
    expect(strict.approvalFor(tool('github__delete_branch', 'destructive'))).toBe('allow');
    expect(strict.approvalFor(tool('github__merge_pr', 'write'))).toBe('ask'); // the strictest matching glob wins
  });

  it('refuses a call whose argument breaks a pattern rule: one statement of read-only SQL', () => {
    const policy = new ToolPolicy({
      arguments: { 'db__*': { sql: { pattern: String.raw`^\s*(select|with|explain)\b[^;]*;?\s*$`, flags: 'i' } } },
    });
    expect(policy.refuseArguments('db__query', { sql: 'SELECT name FROM fruit' })).toBeUndefined();
    expect(policy.refuseArguments('db__query', { sql: '  select 1;' })).toBeUndefined();
    for (const sql of [
      'INSERT INTO fruit VALUES (3)',
      'COMMIT; INSERT INTO fruit VALUES (3)',
      'SELECT 1; DROP TABLE fruit',
    ])
      expect([sql, policy.refuseArguments('db__query', { sql })]).toEqual([
        sql,
        'argument `sql` does not match the pattern policy allows',
      ]);
    // Missing or not a string: refused too, never let through unread.
    expect(policy.refuseArguments('db__query', {})).toBe('argument `sql` must be a string');
    expect(policy.refuseArguments('db__query', { sql: ['SELECT 1'] })).toBe('argument `sql` must be a string');
    // Other tools are not concerned.
    expect(policy.refuseArguments('web__read', { url: 'anything' })).toBeUndefined();
  });

  it('refuses a URL argument whose host is not listed, reading the host as the URL parser does', () => {
    const policy = new ToolPolicy({
      arguments: { 'fetch__*': { url: { hosts: ['127.0.0.0/8', '::1', 'localhost'] } } },
    });
    const allowed = [
      'http://127.0.0.1:8080/a',
      'https://127.9.9.9/',
      'http://[::1]/a',
      'http://0x7f.1/',
      'http://LOCALHOST/x',
    ];
    for (const url of allowed) expect([url, policy.refuseArguments('fetch__fetch', { url })]).toEqual([url, undefined]);
    const refused = [
      'http://192.0.2.10/menu',
      'http://127.0.0.1@192.0.2.10/', // userinfo is not the host
      'http://127.0.0.1.example.com/',
      'http://[::2]/',
      'http://localhost.example.com/',
    ];
    for (const url of refused)
      expect([url, policy.refuseArguments('fetch__fetch', { url })]).toEqual([
        url,
        'argument `url` names a host policy does not allow',
      ]);
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/', 'not a url'])
      expect([url, policy.refuseArguments('fetch__fetch', { url })]).toEqual([
        url,
        'argument `url` must be an http or https URL',
      ]);
  });

  it('refuses argument rules that cannot be read, with config_invalid naming the rule', () => {
    for (const rule of [
      '(unclosed',
      { pattern: 'ok', flags: 'g' },
      { pattern: 'ok', flags: 'ii' },
      { hosts: [] },
      { hosts: ['10.0.0.0/99'] },
      { hosts: ['name/8'] },
    ])
      expect(() => new ToolPolicy({ arguments: { 'db__*': { sql: rule as never } } })).toThrow(
        expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('arguments.db__*.sql') }),
      );
  });

  it('refuses a bad config with config_invalid naming the field', () => {
    expect(() => new ToolPolicy({ approval: { destructive: 'maybe' as never } })).toThrow(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('approval.destructive') }),
    );
    expect(() => new ToolPolicy({ rateLimits: { x: { perMinute: 0 } } })).toThrow(
      expect.objectContaining({ code: 'config_invalid' }),
    );
  });
});
