import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';

/**
 * Where an event stream's text goes. Served by @hono/node-server, that is the Node response itself
 * (no web stream, encoder or promise per write); elsewhere (`app.request()`, other runtimes) a web
 * `ReadableStream`. Both report backpressure the same way.
 */
export interface SseOutput {
  /** What the handler returns. */
  readonly response: Response;
  /** Queues `text` for the client; false once its buffer is full: wait for `onDrain` before more. */
  write(text: string): boolean;
  /** Calls `listener` once, when a full buffer has room again. */
  onDrain(listener: () => void): void;
  /** Sends the headers if nothing was written yet, so that the client sees the response start. */
  flushHeaders(): void;
  /** Writes `text` and ends the response; `settled` is called once it all went out or the connection closed. */
  end(text: string, settled: () => void): void;
  /** Drops the connection and whatever the client has not read. */
  destroy(): void;
}

/** What a web stream holds before it reports a full buffer (a Node response goes by its socket's). */
const webHighWaterMark = 64 * 1024;

/**
 * Opens the event stream's response (status 200, the headers set on `c` so far plus the SSE ones);
 * `onGone` is called once if the client goes away before `end` or `destroy`.
 */
export function openSseOutput(c: Context, onGone: () => void): SseOutput {
  const headers = c.res.headers;
  headers.set('Content-Type', 'text/event-stream');
  headers.set('Cache-Control', 'no-cache');
  headers.set('Connection', 'keep-alive');
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (outgoing && typeof outgoing.writeHead === 'function' && !outgoing.headersSent)
    return nodeOutput(outgoing, headers, onGone);
  return webOutput(c, onGone);
}

function nodeOutput(res: ServerResponse, headers: Headers, onGone: () => void): SseOutput {
  const head: Record<string, string | string[]> = {};
  headers.forEach((value, name) => (head[name] = value));
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) head['set-cookie'] = cookies;
  res.writeHead(200, head);
  // `headersSent` is true from `writeHead` on, though nothing has gone out until the first write.
  let wrote = false;
  let closedByUs = false;
  res.once('close', () => {
    if (!closedByUs) onGone();
  });
  return {
    response: RESPONSE_ALREADY_SENT,
    write: (text) => {
      wrote = true;
      return res.write(text);
    },
    onDrain: (listener) => void res.once('drain', listener),
    flushHeaders: () => {
      if (!wrote) res.flushHeaders();
    },
    end: (text, settled) => {
      closedByUs = true;
      if (res.destroyed) return settled();
      res.once('close', settled);
      res.end(text);
    },
    destroy: () => {
      closedByUs = true;
      res.destroy();
    },
  };
}

function webOutput(c: Context, onGone: () => void): SseOutput {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let drained: (() => void) | undefined;
  let closed = false;
  const body = new ReadableStream<Uint8Array>(
    {
      start: (control) => void (controller = control),
      pull: () => {
        const listener = drained;
        drained = undefined;
        listener?.();
      },
      cancel: () => {
        if (closed) return;
        closed = true;
        onGone();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: webHighWaterMark }),
  );
  return {
    response: c.body(body, 200),
    write: (text) => {
      if (closed) return true;
      controller.enqueue(encoder.encode(text));
      return (controller.desiredSize ?? 0) > 0;
    },
    onDrain: (listener) => void (drained = listener),
    flushHeaders: () => undefined,
    end: (text, settled) => {
      if (!closed) {
        closed = true;
        controller.enqueue(encoder.encode(text));
        controller.close();
      }
      settled();
    },
    destroy: () => {
      if (closed) return;
      closed = true;
      controller.error(new Error('The event stream was cut off'));
    },
  };
}
