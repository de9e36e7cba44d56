import { BlockList, isIP } from 'node:net';
import picomatch from 'picomatch';
import { z } from 'zod';
import { CadreError } from '../../src/core/index.js';
import type { Tool } from '../define-tool.js';

/** What a call of a tool needs: `allow` runs it, `ask` asks an approver first, `deny` refuses it. */
export type ApprovalMode = 'ask' | 'allow' | 'deny';

const globs = z.array(z.string().min(1));
const rules = z.object({ allow: globs.optional(), deny: globs.optional() }).strict();
const mode = z.enum(['ask', 'allow', 'deny']);
const validRegExp = (source: string) => {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
};
const validRange = (range: string) => {
  const [address = '', bits = ''] = range.split('/');
  const family = isIP(address);
  return family !== 0 && /^\d{1,3}$/u.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
};
const pattern = z.string().min(1).refine(validRegExp, { message: 'not a valid regular expression' });
const host = z
  .string()
  .min(1)
  .refine((h) => !h.includes('/') || validRange(h), {
    message: 'a host is a name, an IP address or an IP range (CIDR, e.g. 127.0.0.0/8)',
  });
/**
 * What one argument of a call must be: a string matching `pattern` (a regular expression, `u`
 * flag, plus `flags`), or a URL (http or https) whose host is one of `hosts`.
 */
const argumentRule = z.union([
  pattern,
  z
    .object({
      pattern,
      // Each of i, m and s at most once.
      flags: z
        .string()
        .regex(/^(?!.*(.).*\1)[ims]*$/u)
        .optional(),
    })
    .strict(),
  z.object({ hosts: z.array(host).min(1) }).strict(),
]);

/** The policy as configured: globs over namespaced tool names (`server__tool`). */
export const toolPolicyConfigSchema = z
  .object({
    allow: globs.optional(),
    deny: globs.optional(),
    roles: z.record(z.string(), rules).optional(),
    agents: z.record(z.string(), rules).optional(),
    approval: z
      .object({
        destructive: mode.default('ask'),
        write: mode.default('allow'),
        tools: z.record(z.string(), mode).optional(),
      })
      .strict()
      .optional(),
    rateLimits: z.record(z.string(), z.object({ perMinute: z.number().positive() }).strict()).optional(),
    /**
     * Per tool glob, what named arguments of a call must be; a call whose argument breaks a rule (or
     * is missing or not a string) is refused before the tool sees it, whatever approval says.
     */
    arguments: z.record(z.string(), z.record(z.string(), argumentRule)).optional(),
  })
  .strict();

/** The tool policy as written in the config (see {@link toolPolicyConfigSchema}). */
export type ToolPolicyConfig = z.input<typeof toolPolicyConfigSchema>;

/** Who is calling: the agent by name and, when it has one, its role. */
export interface PolicySubject {
  agent?: string;
  role?: string;
}

/** @inline */
type ToolRef = Pick<Tool, 'name' | 'effects'>;
interface CompiledRules {
  allow?: (name: string) => boolean;
  deny?: (name: string) => boolean;
}

const strictness: Record<ApprovalMode, number> = { allow: 0, ask: 1, deny: 2 };

/**
 * Which tools an agent may see and call, which need a human's approval, and how often they may run.
 * Levels are read from the most specific: agent, then role, then global. At each level a matching
 * `deny` refuses and a matching `allow` permits; if no level matches, the tool is allowed only when
 * no applicable level declared an `allow` list (an allow list is a whitelist).
 */
export class ToolPolicy {
  readonly config: z.output<typeof toolPolicyConfigSchema>;
  private readonly global: CompiledRules;
  private readonly roles = new Map<string, CompiledRules>();
  private readonly agents = new Map<string, CompiledRules>();
  private readonly approvalGlobs: Array<{ match: (name: string) => boolean; mode: ApprovalMode }>;
  private readonly argumentRules: Array<{ match: (name: string) => boolean; checks: ArgumentCheck[] }>;

  /** Validates `config`; throws `config_invalid` naming the bad field. */
  constructor(config: ToolPolicyConfig = {}) {
    const parsed = toolPolicyConfigSchema.safeParse(config);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => `${i.path.join('.') || '(policy)'}: ${i.message}`).join('; ');
      throw new CadreError('config_invalid', `Invalid tool policy: ${fields}`);
    }
    this.config = parsed.data;
    this.global = compile(this.config);
    for (const [name, r] of Object.entries(this.config.roles ?? {})) this.roles.set(name, compile(r));
    for (const [name, r] of Object.entries(this.config.agents ?? {})) this.agents.set(name, compile(r));
    this.approvalGlobs = Object.entries(this.config.approval?.tools ?? {}).map(([glob, m]) => ({
      match: picomatch(glob),
      mode: m,
    }));
    this.argumentRules = Object.entries(this.config.arguments ?? {}).map(([glob, byName]) => ({
      match: picomatch(glob),
      checks: Object.entries(byName).map(([name, rule]) => argumentCheck(name, rule)),
    }));
  }

  /**
   * Why policy refuses a call of `tool` with `args` (the first argument rule it breaks), or
   * undefined when every rule for the tool holds. The reason never quotes the argument's value.
   */
  refuseArguments(tool: string, args: Record<string, unknown>): string | undefined {
    for (const rule of this.argumentRules) {
      if (!rule.match(tool)) continue;
      for (const check of rule.checks) {
        const why = check(args);
        if (why) return why;
      }
    }
    return undefined;
  }

  /** True when `subject` may call the tool named `tool`. */
  isAllowed(tool: string, subject: PolicySubject = {}): boolean {
    const levels = [
      subject.agent !== undefined ? this.agents.get(subject.agent) : undefined,
      subject.role !== undefined ? this.roles.get(subject.role) : undefined,
      this.global,
    ].filter((level): level is CompiledRules => level !== undefined);
    for (const level of levels) {
      // Deny before allow at the same level: a deny is always the safer reading of a conflict.
      if (level.deny?.(tool)) return false;
      if (level.allow?.(tool)) return true;
    }
    return !levels.some((level) => level.allow !== undefined);
  }

  /** The tools the model may be shown; denied tools must never reach the model. */
  visibleTools<T extends { name: string }>(tools: readonly T[], subject: PolicySubject = {}): T[] {
    return tools.filter((tool) => this.isAllowed(tool.name, subject));
  }

  /** Whether a call needs a human: per-tool globs first (strictest match wins), else by effects. */
  approvalFor(tool: ToolRef): ApprovalMode {
    const matched = this.approvalGlobs.filter((g) => g.match(tool.name)).map((g) => g.mode);
    if (matched.length > 0) return matched.reduce((a, b) => (strictness[b] > strictness[a] ? b : a));
    if (tool.effects === 'destructive') return this.config.approval?.destructive ?? 'ask';
    if (tool.effects === 'write') return this.config.approval?.write ?? 'allow';
    return 'allow';
  }
}

/** One argument rule, ready to run: the reason a call breaks it, or undefined. */
type ArgumentCheck = (args: Record<string, unknown>) => string | undefined;

function argumentCheck(name: string, rule: z.output<typeof argumentRule>): ArgumentCheck {
  const text = (args: Record<string, unknown>) => (typeof args[name] === 'string' ? args[name] : undefined);
  if (typeof rule === 'string' || 'pattern' in rule) {
    const source = typeof rule === 'string' ? rule : rule.pattern;
    const regexp = new RegExp(source, `u${typeof rule === 'string' ? '' : (rule.flags ?? '')}`);
    return (args) => {
      const value = text(args);
      if (value === undefined) return `argument \`${name}\` must be a string`;
      return regexp.test(value) ? undefined : `argument \`${name}\` does not match the pattern policy allows`;
    };
  }
  const allowed = hostMatcher(rule.hosts);
  return (args) => {
    const value = text(args);
    if (value === undefined) return `argument \`${name}\` must be a URL`;
    // The WHATWG parser normalises the host first (0x7f.1 is 127.0.0.1, userinfo is not the host).
    const url = URL.canParse(value) ? new URL(value) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      return `argument \`${name}\` must be an http or https URL`;
    return allowed(url.hostname.replace(/^\[(.*)\]$/u, '$1'))
      ? undefined
      : `argument \`${name}\` names a host policy does not allow`;
  };
}

/** Whether a URL's host is one of `hosts`: IP addresses and ranges by address, names exactly (no lookup). */
function hostMatcher(hosts: readonly string[]): (host: string) => boolean {
  const addresses = new BlockList();
  const names = new Set<string>();
  for (const entry of hosts) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address);
    if (family === 0) names.add(entry.toLowerCase());
    else if (bits === undefined) addresses.addAddress(address, family === 4 ? 'ipv4' : 'ipv6');
    else addresses.addSubnet(address, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  }
  return (host) => {
    const family = isIP(host);
    return family === 0 ? names.has(host.toLowerCase()) : addresses.check(host, family === 4 ? 'ipv4' : 'ipv6');
  };
}

function compile(r: { allow?: string[] | undefined; deny?: string[] | undefined }): CompiledRules {
  return {
    ...(r.allow ? { allow: picomatch(r.allow) } : {}),
    ...(r.deny ? { deny: picomatch(r.deny) } : {}),
  };
}
