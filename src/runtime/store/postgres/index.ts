// Only what names no `pg` type: the published types must not need @types/pg.
export { openPostgresRunStore } from './postgres-run-store.js';
export { migratePostgres } from './migrate-postgres.js';
export { migrations, type Migration, type MigrateResult } from './schema-versions.js';
export type { PostgresPoolOptions } from './postgres-options.js';
