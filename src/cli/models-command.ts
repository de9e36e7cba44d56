import pc from 'picocolors';
import { CadreError, loadConfig, type CadreConfig, type ProviderKind } from '../core/index.js';
import { createCapabilityCache } from '../models/capability-cache.js';
import { configuredProviders, detectProviders } from '../models/detect.js';
import { parseModelPool, poolModel, type ModelCapabilities, type PoolModel } from '../models/pool.js';
import { providerForModel } from '../models/pool-from-config.js';
import { probeModel, withProbedCapabilities } from '../models/probe.js';
import type { ModelProvider } from '../models/provider.js';
import { openConfiguredStore } from '../runtime/store/index.js';

/** Prints each configured provider, whether it answered, and its models; with `probe`, what each pool model can do. */
export async function listModels(options: { json: boolean; probe?: boolean; live?: boolean }): Promise<number> {
  const config = loadConfig();
  if (options.probe || options.live) return probeModels(config, { json: options.json, live: Boolean(options.live) });
  const found = await detectProviders(config, { timeoutMs: config.detectTimeoutMs });
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify(
        found.map(({ kind, baseURL, reachable, models, error }) => ({ kind, baseURL, reachable, models, error })),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  for (const p of found) {
    const state = p.reachable ? pc.green('reachable') : pc.dim(`not reachable${p.error ? ` (${p.error})` : ''}`);
    process.stdout.write(`${pc.bold(p.kind.padEnd(10))} ${p.baseURL}  ${state}\n`);
    for (const model of p.models) process.stdout.write(`           ${model}\n`);
  }
  if (!found.some((p) => p.reachable)) {
    process.stdout.write(
      pc.dim(
        'No model reachable. Start Ollama, or set OPENAI_API_KEY / OPENAI_BASE_URL, ANTHROPIC_API_KEY or CADRE_LOCAL_BASE_URL.\n',
      ),
    );
  }
  return 0;
}

interface ProbedRow {
  id: string;
  provider: ProviderKind;
  model: string;
  location: 'local' | 'cloud';
  baseURL?: string;
  capabilities?: ModelCapabilities;
  source?: string;
  probedAt?: number;
  cached?: boolean;
  error?: { code: string; message: string };
}

// Small, yet enough room for a reasoning model to think briefly before it calls the tool.
const liveMaxTokens = 256;

/** Probes the pool (`models` in the config, else every model detection finds) in parallel, caching results in cadre's database. */
async function probeModels(config: CadreConfig, options: { json: boolean; live: boolean }): Promise<number> {
  const providers = new Map<string, ModelProvider | CadreError>();
  let pool: PoolModel[];
  if (config.models?.length) {
    pool = parseModelPool(config.models);
    const configured = await configuredProviders(config);
    for (const model of pool)
      providers.set(
        model.id,
        await providerForModel(model, config, configured).catch((error: unknown) => CadreError.from(error)),
      );
  } else {
    const found = await detectProviders(config, { timeoutMs: config.detectTimeoutMs });
    pool = found.flatMap((p) => p.models.map((model) => poolModel({ provider: p.kind, model })));
    for (const model of pool) providers.set(model.id, found.find((p) => p.kind === model.ref.provider)!.provider);
  }
  const apiKeys: Partial<Record<ProviderKind, string>> = {
    local: config.localApiKey,
    openai: config.openaiApiKey,
    anthropic: config.anthropicApiKey,
  };
  const store = openConfiguredStore(config);
  let rows: ProbedRow[];
  try {
    const cache = createCapabilityCache({ db: store.db, ttlMs: config.probeTtlMs });
    rows = await Promise.all(
      pool.map(async (model): Promise<ProbedRow> => {
        const row: ProbedRow = {
          id: model.id,
          provider: model.ref.provider,
          model: model.ref.model,
          location: model.ref.location,
        };
        const provider = providers.get(model.id)!;
        if (CadreError.isInstance(provider))
          return { ...row, error: { code: provider.code, message: provider.message } };
        try {
          const result = await probeModel(model, {
            baseURL: provider.baseURL,
            apiKey: apiKeys[model.ref.provider],
            cache,
            timeoutMs: config.detectTimeoutMs,
            live: options.live,
            ...(options.live
              ? { chatModel: provider.chatModel(model.ref.model, { maxTokens: liveMaxTokens, temperature: 0 }) }
              : {}),
          });
          const { capabilities } = withProbedCapabilities(model, result.capabilities);
          return {
            ...row,
            baseURL: provider.baseURL,
            capabilities,
            source: result.source,
            probedAt: result.probedAt,
            cached: result.cached,
          };
        } catch (error) {
          const { code, message } = CadreError.from(error);
          return { ...row, baseURL: provider.baseURL, error: { code, message } };
        }
      }),
    );
  } finally {
    store.close();
  }
  if (options.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else printTable(rows);
  return 0;
}

const yesNo = (value: boolean | undefined) => (value === undefined ? '?' : value ? 'yes' : 'no');

function printTable(rows: ProbedRow[]): void {
  if (rows.length === 0) {
    process.stdout.write(
      pc.dim('No model to probe. List models under `models` in cadre.config.json, or start Ollama / set a provider.\n'),
    );
    return;
  }
  const width = Math.max(2, ...rows.map((r) => r.id.length));
  const line = (cells: string[]) =>
    `${cells[0]!.padEnd(width)}  ${cells
      .slice(1)
      .map((c, i) => c.padEnd([8, 5, 5, 6, 9][i] ?? 0))
      .join(' ')}`.trimEnd();
  process.stdout.write(`${pc.bold(line(['id', 'location', 'tools', 'json', 'vision', 'context', 'source']))}\n`);
  for (const r of rows) {
    if (r.error) {
      process.stdout.write(
        `${r.id.padEnd(width)}  ${r.location.padEnd(8)} ${pc.red(`${r.error.code}: ${r.error.message}`)}\n`,
      );
      continue;
    }
    const c = r.capabilities ?? {};
    const source = `${r.source ?? ''}${r.cached ? pc.dim(' (cached)') : ''}`;
    process.stdout.write(
      `${line([r.id, r.location, yesNo(c.tools), yesNo(c.json), yesNo(c.vision), c.contextWindow ? String(c.contextWindow) : '?', source])}\n`,
    );
  }
}
