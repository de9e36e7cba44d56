import type { CadreEvent } from '../../core/index.js';

/**
 * Where a store announces that a run has new events: calls `onWake` for every announcement about
 * `runId` (spurious ones are harmless) and returns the function that stops it.
 */
export type EventWakes = (runId: string, onWake: () => void) => () => void;

/** What {@link followEvents} reads and waits on. */
export interface FollowSource {
  /** The run's stored events from `fromSeq` on, in seq order. */
  read(runId: string, fromSeq: number): Promise<readonly CadreEvent[]>;
  wakes: EventWakes;
  /** Reads again after this long without an announcement, in case one was lost (a dropped connection). */
  pollMs: number;
}

/**
 * A run's events from `fromSeq` on: those stored, then each one stored later, in seq order and each
 * once, until `signal` aborts or the caller stops reading. It listens before its first read, so an
 * event stored between a read and the wait that follows it wakes the wait. A store's writer keeps a
 * run's events committed in seq order, so nothing below the last seq read can appear later.
 */
export async function* followEvents(
  source: FollowSource,
  runId: string,
  fromSeq: number,
  signal: AbortSignal,
): AsyncGenerator<CadreEvent, void, undefined> {
  let next = fromSeq;
  let woken: boolean | undefined;
  let wake: (() => void) | undefined;
  const unsubscribe = source.wakes(runId, () => {
    woken = true;
    wake?.();
  });
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (!signal.aborted) {
      woken = false;
      for (const event of await source.read(runId, next)) {
        if (event.seq < next) continue;
        yield event;
        next = event.seq + 1;
        if (signal.aborted) return;
      }
      if (woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, source.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}

/** Announcements within one process: what a store's own writes wake. */
export function localWakes(): { wakes: EventWakes; announce: (runId: string) => void } {
  const waiting = new Map<string, Set<() => void>>();
  return {
    wakes: (runId, onWake) => {
      let set = waiting.get(runId);
      if (!set) waiting.set(runId, (set = new Set()));
      set.add(onWake);
      return () => {
        set.delete(onWake);
        if (set.size === 0) waiting.delete(runId);
      };
    },
    announce: (runId) => {
      for (const onWake of waiting.get(runId) ?? []) onWake();
    },
  };
}
