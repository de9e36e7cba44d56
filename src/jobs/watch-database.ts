import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Calls `onWrite` soon after any process commits to the SQLite database at `path` (its WAL file
 * changes), so an idle worker picks a new job up in milliseconds rather than at its next poll.
 * Where the file system reports no changes (a network mount), the worker's poll still finds the job.
 * Returns a function that stops watching.
 */
export function watchDatabase(path: string, onWrite: () => void): () => void {
  if (path === ':memory:') return () => undefined;
  const names = new Set([basename(path), `${basename(path)}-wal`]);
  let pending = false;
  try {
    const watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
      if (pending || (name !== null && !names.has(String(name)))) return;
      // Many commits in a burst make one wake-up.
      pending = true;
      setImmediate(() => {
        pending = false;
        onWrite();
      });
    });
    watcher.on('error', () => watcher.close());
    return () => watcher.close();
  } catch {
    return () => undefined;
  }
}
