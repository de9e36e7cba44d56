import pc from 'picocolors';
import { loadConfig, type CadreConfigInput } from '../core/index.js';
import { openMemory } from './run-goal.js';

/** `cadre memory search "<query>"`: what every memory tier recalls for a query, as agents would see it. */
export async function searchMemory(options: {
  config: CadreConfigInput;
  query: string;
  budget: number;
  json: boolean;
}): Promise<number> {
  const memory = await openMemory(loadConfig(options.config));
  try {
    const found = await memory.recall(options.query, { tokenBudget: options.budget });
    if (options.json) process.stdout.write(`${JSON.stringify(found)}\n`);
    else
      process.stdout.write(
        found.items.length
          ? `${found.text}\n${pc.dim(`${found.items.length} items · ${found.tokens} tokens · ${found.dropped} left out`)}\n`
          : 'nothing recalled\n',
      );
    return 0;
  } finally {
    await memory.close();
  }
}

/** `cadre memory graph <entity> [--as-of date]`: facts about an entity, as they stood on a date. */
export async function showGraph(options: {
  config: CadreConfigInput;
  entity: string;
  asOf?: string;
  json: boolean;
}): Promise<number> {
  const memory = await openMemory(loadConfig(options.config));
  try {
    const asOf = options.asOf ? Date.parse(options.asOf) : undefined;
    const found = await memory.recall(options.entity, {
      tiers: ['graph'],
      tokenBudget: 4000,
      ...(asOf !== undefined && !Number.isNaN(asOf) ? { asOf } : {}),
    });
    if (options.json) process.stdout.write(`${JSON.stringify(found.items)}\n`);
    else process.stdout.write(found.items.length ? `${found.text}\n` : `no facts about ${options.entity}\n`);
    return 0;
  } finally {
    await memory.close();
  }
}

/** `cadre memory stats`: how much each tier holds. */
export async function memoryStats(options: { config: CadreConfigInput; json: boolean }): Promise<number> {
  const memory = await openMemory(loadConfig(options.config));
  try {
    const stats = await memory.stats(memory.scope);
    if (options.json) process.stdout.write(`${JSON.stringify(stats)}\n`);
    else for (const [key, value] of Object.entries(stats)) process.stdout.write(`${key.padEnd(11)} ${value}\n`);
    return 0;
  } finally {
    await memory.close();
  }
}
