import pc from 'picocolors';
import { loadConfig } from '../core/index.js';
import { detectProviders } from '../models/detect.js';

/** Prints each configured provider, whether it answered, and its models. */
export async function listModels(options: { json: boolean }): Promise<number> {
  const config = loadConfig();
  const found = await detectProviders(config, { timeoutMs: config.detectTimeoutMs });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(found.map(({ kind, baseURL, reachable, models, error }) => ({ kind, baseURL, reachable, models, error })), null, 2)}\n`);
    return 0;
  }
  for (const p of found) {
    const state = p.reachable ? pc.green('reachable') : pc.dim(`not reachable${p.error ? ` (${p.error})` : ''}`);
    process.stdout.write(`${pc.bold(p.kind.padEnd(10))} ${p.baseURL}  ${state}\n`);
    for (const model of p.models) process.stdout.write(`           ${model}\n`);
  }
  if (!found.some((p) => p.reachable)) {
    process.stdout.write(pc.dim('No model reachable. Start Ollama, or set OPENAI_API_KEY / OPENAI_BASE_URL, ANTHROPIC_API_KEY or CADRE_LOCAL_BASE_URL.\n'));
  }
  return 0;
}
