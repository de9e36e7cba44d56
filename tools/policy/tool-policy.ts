import picomatch from 'picomatch';
import { z } from 'zod';
import { CadreError } from '../../src/core/index.js';
import type { Tool } from '../define-tool.js';

/** What a call of a tool needs: `allow` runs it, `ask` asks an approver first, `deny` refuses it. */
export type ApprovalMode = 'ask' | 'allow' | 'deny';

const globs = z.array(z.string().min(1));
const rules = z.object({ allow: globs.optional(), deny: globs.optional() }).strict();
const mode = z.enum(['ask', 'allow', 'deny']);

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

function compile(r: { allow?: string[] | undefined; deny?: string[] | undefined }): CompiledRules {
  return {
    ...(r.allow ? { allow: picomatch(r.allow) } : {}),
    ...(r.deny ? { deny: picomatch(r.deny) } : {}),
  };
}
