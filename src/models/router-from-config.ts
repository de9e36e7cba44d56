import { CadreError, type CadreConfig } from '../core/index.js';
import { detectProviders } from './detect.js';
import { locationOf, parseModelRef } from './model-ref.js';
import { createSimpleRouter, type ModelRouter, type RouteCandidate } from './router.js';

/**
 * Detects reachable providers and builds a router over them: for each, the model named in
 * `config.model` if it is that provider's, else the first model it lists. Throws
 * `model_unavailable` naming everything it checked when nothing answers.
 */
export async function createRouterFromConfig(config: CadreConfig, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ModelRouter> {
  const explicit = config.model ? parseModelRef(config.model) : undefined;
  const found = await detectProviders(config, options);
  const candidates: RouteCandidate[] = [];
  for (const p of found) {
    if (!p.reachable) continue;
    const name = explicit?.provider === p.kind ? explicit.model : p.models[0];
    if (!name) continue;
    candidates.push({ ref: { provider: p.kind, model: name, location: locationOf(p.kind) }, model: p.provider.chatModel(name) });
  }
  if (candidates.length === 0) {
    const checked = found.map((p) => `${p.kind} at ${p.baseURL}: ${p.reachable ? 'no models' : p.error ?? 'no answer'}`);
    const unset = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'CADRE_LOCAL_BASE_URL'].filter((name) => !process.env[name]);
    const text = [...checked, ...(unset.length ? [`not set: ${unset.join(', ')}`] : [])].join('; ');
    throw new CadreError('model_unavailable', `no model reachable: ${text}`, { details: { checked: found.map(({ provider: _p, ...rest }) => rest) } });
  }
  return createSimpleRouter({ candidates, ...(config.model ? { explicit: config.model } : {}) });
}
