import { readFileSync } from 'node:fs';

/**
 * Whether a process with this id runs on this machine (one we may not signal counts too). A zombie —
 * killed, not yet reaped by its parent — does not: it will never write again, and what it left (a
 * redo log, a run marked running) must be taken over now, not when its parent gets round to it.
 */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !zombie(pid);
}

/** Linux: the state in /proc/<pid>/stat is Z (zombie) or X (dead); elsewhere, never known. */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}
