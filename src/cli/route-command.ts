import pc from 'picocolors';
import { CadreError, loadConfig, type CadreConfigInput } from '../core/index.js';
import { createCapabilityCache } from '../models/capability-cache.js';
import type { Capability, RouteRequest } from '../models/router.js';
import { createRouterFromConfig } from '../models/router-from-config.js';
import { openConfiguredStore } from '../runtime/store/index.js';

export interface ExplainOptions {
  prompt: string;
  taskKind?: string;
  privacy?: 'public' | 'sensitive';
  needs?: Capability[];
  /** Remaining and total cost budget, to see downgrades. */
  budget?: { remainingUsd: number; limitUsd: number };
  json: boolean;
  config?: CadreConfigInput;
}

/**
 * `cadre route explain "<prompt>"`: which model the request would get and why — privacy (and the
 * kinds of personal data found), matching rules, fallbacks, what was excluded and queue depths.
 * Calls no model; the prompt is scanned, never stored or printed back.
 */
export async function explainRoute(options: ExplainOptions): Promise<number> {
  const config = loadConfig(options.config ?? {});
  const store = openConfiguredStore(config);
  try {
    const router = await createRouterFromConfig(config, {
      timeoutMs: config.detectTimeoutMs,
      cache: createCapabilityCache({ db: store.db, ttlMs: config.probeTtlMs }),
    });
    await router.refreshLoad();
    const request: RouteRequest = {
      text: options.prompt,
      ...(options.taskKind ? { taskKind: options.taskKind } : {}),
      ...(options.privacy ? { privacy: options.privacy } : {}),
      ...(options.needs?.length ? { requiredCapabilities: options.needs } : {}),
      ...(options.budget ? { budget: options.budget } : {}),
    };
    let plan;
    try {
      plan = router.plan(request);
    } catch (error) {
      const e = CadreError.from(error);
      if (options.json) process.stdout.write(`${JSON.stringify({ error: e.toJSON() }, null, 2)}\n`);
      else process.stdout.write(`${pc.red('no model')}: ${e.message}\n`);
      return 1;
    }
    const models = router.pool.map((m) => ({
      id: m.id,
      location: m.ref.location,
      health: router.lane(m.id).health,
      queueDepth: router.queueDepth(m.id),
      capabilities: m.capabilities,
      price: m.price,
      strength: m.strength,
      tags: m.tags,
    }));
    const result = {
      model: plan.chain[0]!.id,
      privacy: plan.privacy,
      piiFound: plan.piiFound,
      rules: plan.rules,
      nativeTools: plan.nativeTools,
      fallbacks: plan.chain.slice(1).map((m) => m.id),
      cascade: plan.cascade ? { models: plan.cascade.models.map((m) => m.id), check: plan.cascade.check } : undefined,
      excluded: plan.excluded,
      reason: plan.reason,
      pool: models,
    };
    if (options.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return 0;
    }
    const out = process.stdout;
    out.write(`${pc.bold('model')}      ${pc.green(result.model)}\n`);
    out.write(
      `${pc.bold('privacy')}    ${plan.privacy}${plan.piiFound.length ? ` (found: ${plan.piiFound.join(', ')})` : ''}\n`,
    );
    out.write(`${pc.bold('rules')}      ${plan.rules.join(', ') || pc.dim('none matched')}\n`);
    if (result.cascade)
      out.write(`${pc.bold('cascade')}    ${result.cascade.models.join(' -> ')} (${result.cascade.check})\n`);
    out.write(`${pc.bold('fallbacks')}  ${result.fallbacks.join(', ') || pc.dim('none')}\n`);
    if (!plan.nativeTools)
      out.write(`${pc.bold('tools')}      through the JSON-in-text protocol (no native tool calling)\n`);
    for (const e of plan.excluded) out.write(`${pc.dim('excluded')}   ${e.id}: ${e.why}\n`);
    out.write(`${pc.bold('why')}        ${plan.reason}\n\n`);
    for (const m of models) {
      const state = m.health === 'closed' ? '' : pc.yellow(` breaker ${m.health}`);
      out.write(
        `  ${m.id.padEnd(32)} ${m.location.padEnd(6)} strength ${String(m.strength).padEnd(3)} $${m.price.input}/$${m.price.output} per M  queue ${m.queueDepth}${state}\n`,
      );
    }
    return 0;
  } finally {
    store.close();
  }
}
