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

  it('refuses a bad config with config_invalid naming the field', () => {
    expect(() => new ToolPolicy({ approval: { destructive: 'maybe' as never } })).toThrow(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('approval.destructive') }),
    );
    expect(() => new ToolPolicy({ rateLimits: { x: { perMinute: 0 } } })).toThrow(
      expect.objectContaining({ code: 'config_invalid' }),
    );
  });
});
