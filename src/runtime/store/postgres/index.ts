export { openPostgresRunStore } from './postgres-run-store.js';
export { migrate, migrations, type Migration, type MigrateResult } from './migrations.js';
export { openPostgresPool, type PostgresPoolOptions } from './postgres-pool.js';
