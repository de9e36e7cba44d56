import type { Context } from 'hono';
import { openSseOutput } from './sse-output.js';

/**
 * An event stream's response that a handler fills frame by frame, in its own order: the frames
 * queued in one tick go out in one write, and a writer that checks `blocked` (then awaits
 * `drained()`) reads no more from its source while the client's buffer is full.
 */
export interface SseBatch {
  /** What the handler returns. */
  readonly response: Response;
  /** True once the client went away; later frames are dropped. */
  readonly gone: boolean;
  /** True while the client's buffer is full. */
  readonly blocked: boolean;
  /** Queues whole frames (each ending with its blank line); they go out with the others queued in this tick. */
  send(frames: string): void;
  /** Writes what is queued now, without waiting for the end of the tick. */
  flush(): void;
  /** Resolves when the client's buffer has room again, or the client went away. */
  drained(): Promise<void>;
  /** Writes what is queued and `frames`, then ends the response. */
  end(frames: string): void;
}

/** Frames queued at once go out in one write, up to this many characters (more is written at once). */
const batchLimit = 64 * 1024;

/** Opens an event stream's response on `c` (see `openSseOutput`) and writes frames to it in batches. */
export function openSseBatch(c: Context): SseBatch {
  let gone = false;
  let ended = false;
  let batch = '';
  let flushQueued = false;
  let waiting: Promise<void> | undefined;
  let release: (() => void) | undefined;

  const output = openSseOutput(c, () => {
    gone = true;
    release?.();
  });
  const flush = () => {
    flushQueued = false;
    if (gone || ended || batch === '') return;
    const text = batch;
    batch = '';
    if (output.write(text) || waiting) return;
    waiting = new Promise<void>((resolve) => {
      release = () => {
        waiting = undefined;
        release = undefined;
        resolve();
      };
    });
    output.onDrain(() => release?.());
  };

  return {
    response: output.response,
    get gone() {
      return gone;
    },
    get blocked() {
      return waiting !== undefined;
    },
    send: (frames) => {
      if (gone || ended) return;
      batch += frames;
      if (batch.length >= batchLimit) flush();
      else if (!flushQueued) {
        flushQueued = true;
        // After the microtasks now queued, which hand over whatever else is ready at this moment.
        process.nextTick(flush);
      }
    },
    flush,
    drained: () => waiting ?? Promise.resolve(),
    end: (frames) => {
      if (gone || ended) return;
      ended = true;
      const text = batch + frames;
      batch = '';
      output.end(text, () => undefined);
    },
  };
}
