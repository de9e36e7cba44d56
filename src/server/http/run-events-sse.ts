import type { Context } from 'hono';
import { isTransientEvent, type CadreEvent } from '../../core/index.js';
import type { RunHandle, RunState } from '../../runtime/index.js';
import { openSseOutput } from './sse-output.js';

/** How a run's event stream is sent, and what ends it. */
export interface RunStreamOptions {
  runId: string;
  /** The run's events from the requested seq on: replayed, then live, ending when the run stops. */
  events: (signal: AbortSignal) => AsyncGenerator<CadreEvent, void, undefined>;
  /** The run's status once its events ended, for the closing frame. */
  status: () => Promise<RunState | undefined>;
  /** A client that reads nothing for this long is cut off; it resumes by Last-Event-ID. */
  stallMs: number;
  /** A comment line goes out after this long without any write, to keep proxies from closing the stream. */
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
  /** `false`: leave out the live `model.delta` events of a run of this process. Default true. */
  deltas?: boolean;
}

/**
 * Streams a run's events (see `streamRunEvents`). A run of this process is followed through its
 * handle, with its live `model.delta` events (the tokens of each reply as they come), and ends its
 * own stream: shutdown stops the run, and its last events still go out. A run of another process is
 * read from the store, which holds each whole reply (`model.response`) but no deltas.
 */
export function followRun(c: Context, settings: StreamSettings, run: FollowedRun): Response {
  const { handle } = run;
  return streamRunEvents(c, {
    runId: run.runId,
    stallMs: settings.stallMs,
    heartbeatMs: settings.heartbeatMs,
    ...(settings.openStreams ? { openStreams: settings.openStreams } : {}),
    events: (signal) =>
      handle ? handle.events(run.fromSeq ?? 1, { transient: run.deltas !== false }) : run.stored(signal),
    status: async () => (handle ? (await handle.result).status : run.storedStatus()),
    shutdown: handle ? new AbortController().signal : settings.shutdown,
    ...(run.cancelOnDisconnect && handle ? { onDisconnect: () => handle.cancel('the client disconnected') } : {}),
  });
}

/** Frames ready at once go out in one write, up to this many characters (more is written at once). */
const batchLimit = 64 * 1024;

/** How long the response head may wait for the first frames, so that both go out in one write. */
const headDelayMs = 10;

/** Each event's frame, built once however many clients follow its run. */
const frames = new WeakMap<CadreEvent, string>();

/**
 * A stored event's frame carries its seq as `id`; a live-only one (`model.delta`) none, so a
 * client's Last-Event-ID stays the stored event before it and a reconnect skips nothing stored.
 */
function frameOf(event: CadreEvent): string {
  let frame = frames.get(event);
  if (frame === undefined) {
    const data = `data: ${JSON.stringify(event)}\n\n`;
    frame = isTransientEvent(event.type) ? data : `id: ${event.seq}\n${data}`;
    frames.set(event, frame);
  }
  return frame;
}

type Ending = { reason?: 'slow_consumer' | 'server_shutdown' | 'error'; status?: RunState };

// Aborting with a reason of our own spares building a DOMException (and its stack) per stream.
const stopped = new Error('The event stream ended');

/**
 * Sends a run's events as SSE: each frame is `id: <seq>` and the event as JSON, so a client that
 * reconnects with Last-Event-ID continues with no gap and no duplicate. Every stream ends with a
 * `stream.end` frame (the run's status, or why the stream was cut off) that carries no id.
 * The events ready at one moment go out in one write; while the client's buffer is full no more
 * are read, and a client that reads nothing for `stallMs` is cut off, so memory stays flat however
 * slow it is. A comment line goes out when nothing else did for `heartbeatMs`.
 */
export function streamRunEvents(c: Context, options: RunStreamOptions): Response {
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  options.openStreams?.add(done);
  const stop = new AbortController();
  let ended = false;
  let pulling = false;
  let blocked = false;
  let flushQueued = false;
  let batch = '';
  let lastSeq: number | undefined;
  let lastWrite = Date.now();
  let stall: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let head: NodeJS.Timeout | undefined;

  const output = openSseOutput(c, () => void end({}, true));
  const events = options.events(stop.signal);
  const onShutdown = () => void end({ reason: 'server_shutdown' });
  options.shutdown.addEventListener('abort', onShutdown, { once: true });

  // While the client's buffer is full nothing more is read from the run, so at most the batch that
  // was on its way when it filled up is added to it.
  const send = (text: string) => {
    lastWrite = Date.now();
    if (output.write(text) || blocked) return;
    blocked = true;
    stall = setTimeout(() => void end({ reason: 'slow_consumer' }), options.stallMs);
    output.onDrain(() => {
      clearTimeout(stall);
      blocked = false;
      pull();
    });
  };
  const flush = () => {
    flushQueued = false;
    if (ended || batch === '') return;
    const text = batch;
    batch = '';
    send(text);
  };
  const pull = () => {
    if (pulling || blocked || ended) return;
    pulling = true;
    // The run's events could not be read (the store failed): the client may retry from lastSeq.
    events
      .next()
      .then(received)
      .catch(() => {
        pulling = false;
        void end({ reason: 'error' });
      });
  };
  const received = (result: IteratorResult<CadreEvent>) => {
    pulling = false;
    if (ended) return;
    if (result.done) return void end({});
    const event = result.value;
    batch += frameOf(event);
    if (!isTransientEvent(event.type)) lastSeq = event.seq;
    if (batch.length >= batchLimit) flush();
    else if (!flushQueued) {
      flushQueued = true;
      // After the microtasks now queued, which hand over every other event already emitted.
      process.nextTick(flush);
    }
    pull();
  };
  const beat = () => {
    if (ended) return;
    const idle = Date.now() - lastWrite;
    if (idle >= options.heartbeatMs && !blocked) send(': keep-alive\n\n');
    heartbeat = setTimeout(
      beat,
      idle >= options.heartbeatMs ? options.heartbeatMs : options.heartbeatMs - idle,
    ).unref();
  };

  /** Ends the stream once: with its final frame, or quietly when the client went away (`gone`). */
  async function end(ending: Ending, gone = false): Promise<void> {
    if (ended) return;
    ended = true;
    clearTimeout(stall);
    clearTimeout(heartbeat);
    clearTimeout(head);
    options.shutdown.removeEventListener('abort', onShutdown);
    stop.abort(stopped);
    void events.return(undefined).catch(() => undefined);
    try {
      if (gone) return options.onDisconnect?.();
      if (!ending.reason) {
        const status = options.status().then(
          (status): Ending => ({ status: status ?? 'running' }),
          (): Ending => ({ reason: 'error' }),
        );
        // The run's last events do not wait for its status: unless it is known by the time they
        // would have been written, they go out first (usually it is, and all goes in one write).
        const known = await Promise.race([status, new Promise<undefined>((resolve) => process.nextTick(resolve))]);
        if (!known && batch !== '') {
          output.write(batch);
          batch = '';
        }
        ending = known ?? (await status);
      }
      const text = `${batch}data: ${JSON.stringify(endFrame(options.runId, lastSeq, ending))}\n\n`;
      batch = '';
      // A client that stopped reading gets one more stall period to take the frame, then its socket goes.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          output.destroy();
          resolve();
        }, options.stallMs);
        output.end(text, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    } catch {
      output.destroy();
    } finally {
      options.openStreams?.delete(done);
      finished();
    }
  }

  if (options.shutdown.aborted) void end({ reason: 'server_shutdown' });
  else {
    heartbeat = setTimeout(beat, options.heartbeatMs).unref();
    // The response head goes out with the first frames, or alone if none are ready soon.
    head = setTimeout(output.flushHeaders, headDelayMs).unref();
    pull();
  }
  return output.response;
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
