import { describe, expect, it } from 'vitest';
import { McpToolNames, mcpToolName } from 'cadre/tools';

const safe = /^[a-zA-Z0-9_-]{1,64}$/;

describe('MCP tool names', () => {
  it('keeps <server>__<tool> as is when it is already safe', () => {
    expect(mcpToolName('github', 'create_issue')).toBe('github__create_issue');
    expect(mcpToolName('everything', 'get-sum')).toBe('everything__get-sum');
  });

  it('sanitises unsafe characters and cuts long names, with a stable hash suffix', () => {
    const dotted = mcpToolName('my.server', 'files/read file');
    expect(dotted).toMatch(safe);
    expect(dotted).toMatch(/^my_server__files_read_file_[0-9a-f]{8}$/);
    const long = mcpToolName(
      'a-very-long-server-name-for-testing',
      'and_an_even_longer_tool_name_that_goes_past_the_limit',
    );
    expect(long).toMatch(safe);
    expect(long).toHaveLength(64);
    expect(
      mcpToolName('a-very-long-server-name-for-testing', 'and_an_even_longer_tool_name_that_goes_past_the_limit'),
    ).toBe(long);
    expect(mcpToolName('ünïcödé', '工具')).toMatch(safe);
  });

  it('keeps names that differ only in unsafe characters apart', () => {
    expect(mcpToolName('s', 'a.b')).not.toBe(mcpToolName('s', 'a/b'));
  });

  it('maps every name back to its server and tool', () => {
    const refs = [
      { server: 'fs', tool: 'read_file' },
      { server: 'my.server', tool: 'x y' },
      { server: 'long'.repeat(10), tool: 'tool'.repeat(20) },
    ];
    const names = new McpToolNames(refs);
    for (const ref of refs) {
      const name = names.nameOf(ref.server, ref.tool)!;
      expect(name).toMatch(safe);
      expect(names.resolve(name)).toEqual(ref);
    }
    expect(names.resolve('unknown__tool')).toBeUndefined();
  });

  it('resolves collisions the same way whatever the order', () => {
    const a = { server: 'a__b', tool: 'c' };
    const b = { server: 'a', tool: 'b__c' };
    const forward = new McpToolNames([a, b]);
    const backward = new McpToolNames([b, a]);
    expect(forward.names()).toEqual(backward.names());
    expect(new Set(forward.names()).size).toBe(2);
    expect(forward.names().every((n) => safe.test(n))).toBe(true);
    expect(forward.resolve(forward.nameOf('a', 'b__c')!)).toEqual(b);
    expect(forward.resolve(forward.nameOf('a__b', 'c')!)).toEqual(a);
  });
});
