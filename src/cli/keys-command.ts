import pc from 'picocolors';
import { CadreError, loadConfig, type CadreConfigInput } from '../core/index.js';
import { configuredApiKeys } from '../runtime/store/index.js';

const keysOf = (config: CadreConfigInput) => configuredApiKeys(loadConfig(config));
const day = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

/** `cadre keys create`: makes an API key for `cadre serve` and prints it, once. */
export async function createKey(options: {
  config: CadreConfigInput;
  name?: string;
  admin: boolean;
  json: boolean;
}): Promise<number> {
  const key = await keysOf(options.config).create({
    admin: options.admin,
    ...(options.name ? { name: options.name } : {}),
  });
  if (options.json) process.stdout.write(`${JSON.stringify(key)}\n`);
  else
    process.stdout.write(
      `${key.key}\n${pc.dim(`id ${key.id}${key.admin ? ' · admin' : ''} · shown once: only its hash is stored`)}\n`,
    );
  return 0;
}

/** `cadre keys list`: every key's id, name and state; never a key itself. */
export async function listKeys(options: { config: CadreConfigInput; json: boolean }): Promise<number> {
  const keys = await keysOf(options.config).list();
  if (options.json) {
    for (const key of keys) process.stdout.write(`${JSON.stringify(key)}\n`);
    return 0;
  }
  if (keys.length === 0) process.stdout.write('no keys yet (cadre keys create)\n');
  for (const key of keys) {
    const state = key.revokedAt ? pc.red(`revoked ${day(key.revokedAt)}`) : pc.green('live');
    process.stdout.write(
      `${key.id}  ${key.name.padEnd(20)} ${key.admin ? 'admin ' : 'user  '} ${day(key.createdAt)}  ${state}\n`,
    );
  }
  return 0;
}

/** `cadre keys revoke <id>`: the key stops working at once, in every running server. */
export async function revokeKey(options: { config: CadreConfigInput; id: string }): Promise<number> {
  if (!(await keysOf(options.config).revoke(options.id)))
    throw new CadreError('input_invalid', `No live key ${options.id}; see cadre keys list`);
  process.stdout.write(`revoked ${options.id}\n`);
  return 0;
}
