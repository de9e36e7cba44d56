import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAdaptorServer } from '@hono/node-server';
import { CadreError } from '../../core/index.js';
import type { HttpApi } from './http-app.js';
import type { RedriveReport } from './run-service.js';
import { loopbackPolicy } from './request-guard.js';

/** A listening API server. */
export interface HttpApiServing {
  /** `http://host:port`, with the port actually bound. */
  url: string;
  port: number;
  /** The runs a dead process left `running` that this server resumed (or failed to) as it started. */
  redriven: RedriveReport;
  /**
   * Graceful stop: stops accepting connections, stops running runs at their next step (they stay
   * resumable), ends every event stream with a final frame, then closes what is left.
   */
  close(reason?: string): Promise<void>;
}

/** Serves `api` on `api.options.host` (default 127.0.0.1) and port (default 7700; 0 for any free one). */
export async function serveHttpApi(api: HttpApi): Promise<HttpApiServing> {
  const { host, port } = api.options;
  // Node's own Request and Response stay as they are for the rest of the process.
  const server = createAdaptorServer({ fetch: api.app.fetch, overrideGlobalObjects: false }) as Server;
  // Runs a dead process left `running` are resumed before the first request, so none stays `running`
  // forever and a client reconnecting at once follows the resumed run rather than its interruption.
  const redriven = await api.runs.redrive();
  // Then the conversations: replies of runs that ended are written, queued messages start.
  await api.threads.redrive();
  // Jobs whose worker died are continued by leases, not by the re-drive above.
  const worker = api.options.workers > 0 ? api.startWorker() : undefined;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new CadreError('config_invalid', `Cannot listen on ${host}:${port}: ${error.message}`, {
          kind: error.code === 'EADDRINUSE' || error.code === 'EACCES' ? 'user' : 'system',
          cause: error,
        }),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  api.setPolicy(loopbackPolicy({ ...api.options, port: bound }));
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${bound}`,
    port: bound,
    redriven,
    close: (reason) =>
      (closing ??= (async () => {
        let done = false;
        const closed = new Promise<void>((resolve) => server.close(() => resolve())).then(() => (done = true));
        // Jobs go back to the queue at their next step, so another worker (or the next start) continues them.
        await worker?.stop();
        await api.shutdown(reason);
        // Streams have handed over their final frame: connections close as their responses end
        // (idle ones are closed as they appear); whatever is still open after a grace period is cut.
        for (let waited = 0; !done && waited < 2_000; waited += 25) {
          server.closeIdleConnections();
          await sleep(25);
        }
        server.closeAllConnections();
        await closed;
      })()),
  };
}
