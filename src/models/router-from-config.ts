import type { CadreConfig } from '../core/index.js';
import { createLoadMonitor, ollamaLoadSource, metricsLoadSource, type LoadMonitorOptions } from './load-monitor.js';
import { createPolicyRouter, type PolicyRouter, type RouterHook } from './policy-router.js';
import { poolFromConfig, type PoolFromConfigOptions, type ServedModel } from './pool-from-config.js';

/** How the pool is found (see {@link PoolFromConfigOptions}), plus a routing hook and a load-error listener. */
export interface RouterFromConfigOptions extends PoolFromConfigOptions {
  /** The programmable routing hook (rules in `routing` cover most needs). */
  hook?: RouterHook;
  /** Told when a load source (Ollama `/api/ps`, vLLM `/metrics`) does not answer. */
  onLoadError?: LoadMonitorOptions['onError'];
}

/** Load sources for the local servers in the pool: Ollama's loaded models; vLLM's, TGI's or llama.cpp's queue. */
function loadSources(served: ServedModel[]): LoadMonitorOptions['sources'] {
  const byServer = new Map<string, { kind: string; models: Record<string, string> }>();
  for (const { model, provider } of served) {
    if (model.ref.location !== 'local') continue;
    const server = byServer.get(provider.baseURL) ?? { kind: provider.kind, models: {} };
    server.models[model.ref.model] = model.id;
    byServer.set(provider.baseURL, server);
  }
  return [...byServer].map(([baseURL, { kind, models }]) => ({
    source:
      kind === 'ollama' ? ollamaLoadSource({ baseURL }) : metricsLoadSource({ baseURL, models: Object.keys(models) }),
    models,
  }));
}

/**
 * Builds the policy router over the configured pool (`models`, or what detection finds) with the
 * `routing` rules, and a load monitor over the local servers for queue-depth spill. Throws
 * `model_unavailable` naming everything it checked when nothing answers.
 */
export async function createRouterFromConfig(
  config: CadreConfig,
  options: RouterFromConfigOptions = {},
): Promise<PolicyRouter> {
  const served = await poolFromConfig(config, options);
  const monitor = createLoadMonitor({
    sources: loadSources(served),
    ...(options.onLoadError ? { onError: options.onLoadError } : {}),
  });
  return createPolicyRouter({
    models: served,
    routing: config.routing,
    ...(options.hook ? { hook: options.hook } : {}),
    serverQueue: (id) => monitor.load(id).waiting,
    refreshLoad: () => monitor.refresh(),
  });
}
