import type { PostgresPoolOptions } from './postgres-options.js';

/** Stores this process opened on PostgreSQL, one per kind, database and schema. */
const opened = new Map<string, Promise<{ close(): Promise<void> }>>();

/**
 * The store of `kind` on the database and schema of `options`, opened by `open` on first use and
 * shared after. One that could not be opened is tried again by the next caller, not remembered as down.
 */
export function openedOnce<T extends { close(): Promise<void> }>(
  kind: string,
  options: PostgresPoolOptions,
  open: () => Promise<T>,
): Promise<T> {
  const key = `${kind} ${options.url} ${options.schema ?? ''}`;
  let store = opened.get(key) as Promise<T> | undefined;
  if (!store) {
    store = open();
    opened.set(key, store);
    store.catch(() => opened.delete(key));
  }
  return store;
}

/** Closes every PostgreSQL store this process opened (tests, and a server that stops). */
export async function closePostgresStores(): Promise<void> {
  const all = [...opened.values()];
  opened.clear();
  await Promise.all(all.map(async (store) => (await store.catch(() => undefined))?.close()));
}
