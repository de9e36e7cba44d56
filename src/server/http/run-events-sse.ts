import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { CadreEvent } from '../../core/index.js';
import type { RunHandle, RunState } from '../../runtime/index.js';

/** How a run's event stream is sent, and what ends it. */
export interface RunStreamOptions {
  runId: string;
  /** The run's events from the requested seq on: replayed, then live, ending when the run stops. */
  events: (signal: AbortSignal) => AsyncGenerator<CadreEvent, void, undefined>;
  /** The run's status once its events ended, for the closing frame. */
  status: () => Promise<RunState | undefined>;
  /** A client that reads nothing for this long is cut off; it resumes by Last-Event-ID. */
  stallMs: number;
  heartbeatMs: number;
  /** Aborted when the server shuts down: the stream closes with a final frame. */
  shutdown: AbortSignal;
  /** Called when the client goes away before the stream ended (not when the server cut it off). */
  onDisconnect?: () => void;
  /** Counts open streams, so a shutdown can wait for their final frames. */
  openStreams?: Set<Promise<void>>;
}

/** What every followed run's stream shares: the server's settings. */
export type StreamSettings = Pick<RunStreamOptions, 'stallMs' | 'heartbeatMs' | 'shutdown' | 'openStreams'>;

/** One run to follow: its handle when this process runs it, else how to read it from the store. */
export interface FollowedRun {
  runId: string;
  handle?: RunHandle;
  /** The first seq to send (with a handle; `stored` starts where it starts). */
  fromSeq?: number;
  /** The run's events read back and followed from the store, for a run this process does not run. */
  stored: (signal: AbortSignal) => AsyncGenerator<CadreEvent, void, undefined>;
  /** The run's status from the store, for the closing frame. */
  storedStatus: () => Promise<RunState | undefined>;
  /** Cancel the run (of this process) when its client goes away. */
  cancelOnDisconnect?: boolean;
}

/**
 * Streams a run's events (see `streamRunEvents`). A run of this process is followed through its
 * handle and ends its own stream: shutdown stops the run, and its last events still go out.
 */
export function followRun(c: Context, settings: StreamSettings, run: FollowedRun): Response {
  const { handle } = run;
  return streamRunEvents(c, {
    runId: run.runId,
    stallMs: settings.stallMs,
    heartbeatMs: settings.heartbeatMs,
    ...(settings.openStreams ? { openStreams: settings.openStreams } : {}),
    events: (signal) => (handle ? handle.events(run.fromSeq ?? 1) : run.stored(signal)),
    status: async () => (handle ? (await handle.result).status : run.storedStatus()),
    shutdown: handle ? new AbortController().signal : settings.shutdown,
    ...(run.cancelOnDisconnect && handle ? { onDisconnect: () => handle.cancel('the client disconnected') } : {}),
  });
}

type Next = { kind: 'event'; result: IteratorResult<CadreEvent> } | { kind: 'idle' } | { kind: 'stop' };

/**
 * Sends a run's events as SSE: each frame is `id: <seq>` and the event as JSON, so a client that
 * reconnects with Last-Event-ID continues with no gap and no duplicate. Every stream ends with a
 * `stream.end` frame (the run's status, or why the stream was cut off) that carries no id.
 * Frames are written one at a time as the client reads them (memory stays flat however slow it is).
 */
export function streamRunEvents(c: Context, options: RunStreamOptions): Response {
  return streamSSE(c, async (stream) => {
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    options.openStreams?.add(done);
    const stop = new AbortController();
    let disconnected = false;
    stream.onAbort(() => {
      disconnected = !stop.signal.aborted;
      stop.abort();
    });
    const onShutdown = () => stop.abort();
    options.shutdown.addEventListener('abort', onShutdown, { once: true });
    const events = options.events(stop.signal);
    try {
      const pumped = await pump(stream, events, options, stop.signal);
      const { lastSeq } = pumped;
      let { ending } = pumped;
      if (disconnected) return options.onDisconnect?.();
      if (!ending.reason) ending = { status: (await options.status()) ?? 'running' };
      stop.abort();
      // A client that stopped reading gets one more stall period to take the frame, then its socket goes.
      const frame = stream.writeSSE({ data: JSON.stringify(endFrame(options.runId, lastSeq, ending)) });
      if (!(await within(frame, options.stallMs))) cutOff(c, stream);
    } finally {
      options.shutdown.removeEventListener('abort', onShutdown);
      stop.abort();
      void events.return(undefined).catch(() => undefined);
      options.openStreams?.delete(done);
      finished();
    }
  });
}

type Ending = { reason?: 'slow_consumer' | 'server_shutdown' | 'error'; status?: RunState };

/**
 * Writes events until the run's events end, the stream is stopped, or the client stalls. The
 * per-event path allocates no timer: one heartbeat timer and one stall watchdog serve the stream.
 */
async function pump(
  stream: SSEStreamingApi,
  events: AsyncGenerator<CadreEvent, void, undefined>,
  options: RunStreamOptions,
  signal: AbortSignal,
): Promise<{ ending: Ending; lastSeq?: number }> {
  let lastSeq: number | undefined;
  const watch = streamWatch(options, signal);
  try {
    let pending = events.next().then((result): Next => ({ kind: 'event', result }));
    for (;;) {
      const next = await Promise.race([pending, watch.idle(), watch.stopped]);
      if (next.kind === 'event' && next.result.done) return { ending: {}, lastSeq };
      // Stopped before the run's events ended: the server is shutting down (or the client left).
      if (next.kind === 'stop') return { ending: { reason: 'server_shutdown' }, lastSeq };
      const write =
        next.kind === 'idle'
          ? stream.write(': keep-alive\n\n')
          : stream.writeSSE({ id: String(next.result.value.seq), data: JSON.stringify(next.result.value) });
      if (!(await watch.written(write))) return { ending: { reason: 'slow_consumer' }, lastSeq };
      if (next.kind === 'event') {
        lastSeq = next.result.value.seq;
        pending = events.next().then((result): Next => ({ kind: 'event', result }));
      }
    }
  } catch {
    // The run's events could not be read (the store failed): the client may retry from lastSeq.
    return { ending: { reason: 'error' }, lastSeq };
  } finally {
    watch.close();
  }
}

/**
 * A stream's two clocks: `idle()` resolves once no keep-alive went out for `heartbeatMs` (the same
 * promise until it does), and `written(write)` is false when a write is still pending after
 * `stallMs` (a client that stopped reading), checked by one watchdog rather than a timer per write.
 */
function streamWatch(options: Pick<RunStreamOptions, 'heartbeatMs' | 'stallMs'>, signal: AbortSignal) {
  let idle: Promise<Next> | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let writeStarted = 0;
  let stall: (() => void) | undefined;
  const stopped = new Promise<Next>((resolve) => {
    if (signal.aborted) resolve({ kind: 'stop' });
    else signal.addEventListener('abort', () => resolve({ kind: 'stop' }), { once: true });
  });
  const watchdog = setInterval(
    () => {
      if (writeStarted && Date.now() - writeStarted >= options.stallMs) stall?.();
    },
    Math.max(10, Math.min(1000, Math.floor(options.stallMs / 4))),
  );
  return {
    stopped,
    idle(): Promise<Next> {
      return (idle ??= new Promise<Next>((resolve) => {
        heartbeat = setTimeout(() => {
          idle = undefined;
          resolve({ kind: 'idle' });
        }, options.heartbeatMs);
      }));
    },
    async written(write: Promise<unknown>): Promise<boolean> {
      writeStarted = Date.now();
      try {
        return await Promise.race([
          write.then(() => true),
          new Promise<boolean>((resolve) => (stall = () => resolve(false))),
        ]);
      } finally {
        writeStarted = 0;
        stall = undefined;
      }
    },
    close() {
      clearInterval(watchdog);
      clearTimeout(heartbeat);
    },
  };
}

const endMessages = {
  slow_consumer: 'The client read too slowly and was cut off; reconnect with Last-Event-ID to continue',
  server_shutdown: 'The server is shutting down; reconnect with Last-Event-ID to continue',
  error: "The run's events could not be read; reconnect with Last-Event-ID to try again",
};

function endFrame(runId: string, lastSeq: number | undefined, ending: Ending) {
  return {
    type: 'stream.end',
    runId,
    ...(ending.status ? { status: ending.status } : {}),
    ...(ending.reason ? { reason: ending.reason, message: endMessages[ending.reason] } : {}),
    ...(lastSeq !== undefined ? { lastSeq } : {}),
  };
}

/** Whether `write` finished within `ms`: a client that stopped reading leaves it pending. */
async function within(write: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([write.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Drops a client that stopped reading: what it has not read is discarded with its socket. */
function cutOff(c: Context, stream: SSEStreamingApi): void {
  const outgoing = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
  stream.abort();
  outgoing?.destroy();
}
