import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';

/** What the saved HNSW index was made from, kept beside it in `<index>.json`, so a stale or torn file is not loaded. */
export interface Sidecar {
  generation: number;
  count: number;
  dimensions: number;
  sha256: string;
}

/** The SHA-256 of a file, read in 1 MiB chunks. */
export function sha256File(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** Reads the sidecar of an index file; throws when it is missing or not JSON. */
export const readSidecar = (indexPath: string): Sidecar =>
  JSON.parse(readFileSync(`${indexPath}.json`, 'utf8')) as Sidecar;

/** Writes the sidecar of an index file by rename, so it is never torn. */
export function writeSidecar(indexPath: string, sidecar: Sidecar): void {
  writeFileSync(`${indexPath}.json.tmp`, JSON.stringify(sidecar));
  renameSync(`${indexPath}.json.tmp`, `${indexPath}.json`);
}
