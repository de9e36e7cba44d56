/**
 * One process of the serve bench's SSE readers (bench/serve.ts starts several, as a server's clients
 * are separate browsers). Reads one JSON line from stdin — the server's URL, an API key and the run
 * each of its clients follows — and follows them all with `cadre/client` from seq 1. Prints
 * `{"following":true}` once every client received its first event, then, when every stream ended,
 * one line with the latencies it measured (emit `ts` to arrival, Date.now() ms, for events emitted
 * after the client connected), the seqs each client received, its reconnects, its own event-loop
 * delay and the CPU time it used.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { createClient } from 'cadre/client';

/** What the parent sends a reader process. */
export interface ReaderTask {
  url: string;
  key: string;
  /** The run each client follows, one entry per client. */
  follows: string[];
}

/** What a reader process reports once its streams ended. */
export interface ReaderReport {
  latencies: number[];
  received: Array<{ runId: string; seqs: number[] }>;
  reconnects: number;
  loopDelayP99Ms: number;
  /** CPU time this process used from the moment all its clients followed. */
  cpuMs: number;
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const task = JSON.parse((await lines.next()).value as string) as ReaderTask;
const client = createClient({ baseURL: task.url, apiKey: task.key });
const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
const latencies: number[] = [];
let reconnects = 0;
let following = 0;
let cpuAtFollow = process.cpuUsage();
const received = await Promise.all(
  task.follows.map(async (runId) => {
    const stream = client.runs.events(runId);
    const seqs: number[] = [];
    let connectedAt = Infinity;
    for await (const event of stream) {
      const now = Date.now();
      if (seqs.length === 0) {
        connectedAt = now;
        if (++following === task.follows.length) {
          cpuAtFollow = process.cpuUsage();
          process.stdout.write('{"following":true}\n');
        }
      }
      seqs.push(event.seq);
      if (event.ts > connectedAt) latencies.push(now - event.ts);
    }
    reconnects += stream.reconnects;
    return { runId, seqs };
  }),
);
delay.disable();
const cpu = process.cpuUsage(cpuAtFollow);
const report: ReaderReport = {
  latencies,
  received,
  reconnects,
  loopDelayP99Ms: delay.percentile(99) / 1e6,
  cpuMs: (cpu.user + cpu.system) / 1000,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
