import { CadreError, loadConfig, type CadreConfigInput } from '../core/index.js';
import { migratePostgres } from '../runtime/store/index.js';

/**
 * `cadre db migrate`: brings the PostgreSQL database (`--database-url`, else `databaseUrl` /
 * CADRE_DATABASE_URL) up to the newest schema version and says what it applied.
 */
export async function migrateDatabase(options: {
  config: CadreConfigInput;
  databaseUrl?: string;
  json: boolean;
}): Promise<number> {
  const url = loadConfig({
    ...options.config,
    databaseUrl: options.databaseUrl ?? options.config.databaseUrl,
  }).databaseUrl;
  if (!url)
    throw new CadreError(
      'config_invalid',
      'No PostgreSQL database: set CADRE_DATABASE_URL or pass --database-url postgres://host:5432/database',
    );
  const { applied, current } = await migratePostgres({ url });
  if (options.json) process.stdout.write(`${JSON.stringify({ current, applied })}\n`);
  else if (applied.length === 0) process.stdout.write(`up to date (version ${current})\n`);
  else
    process.stdout.write(
      `migrated to version ${current} (applied: ${applied.map((m) => `${m.version} ${m.name}`).join(', ')})\n`,
    );
  return 0;
}
