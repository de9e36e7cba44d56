import { CadreError } from '../core/index.js';
import { getJson } from './http-json.js';

/** How busy one pool model is right now. */
export interface ModelLoad {
  /** Calls cadre itself has running or queued on the model (counted through `begin`/`end`). */
  inFlight: number;
  /** Requests the server reports waiting; 0 when unknown. */
  waiting: number;
  /** Whether the server has the model in memory; undefined when unknown. */
  loaded?: boolean;
  /** `now()` when the server figures were taken; undefined when never. */
  sampledAt?: number;
}

/** Asks one server how busy its models are. */
export interface LoadSource {
  /** Figures keyed by the model name as the server knows it. */
  refresh(signal?: AbortSignal): Promise<Map<string, Partial<ModelLoad>>>;
  /** What it means when a reply leaves a model out; Ollama's `/api/ps` lists only loaded models. Default: nothing known. */
  readonly unlisted?: Partial<ModelLoad>;
}

/** The server a load source asks, and how long it waits for an answer. */
export interface LoadSourceOptions {
  baseURL: string;
  headers?: Record<string, string>;
  /** Longest wait for one reply. Default 1000 ms: an older figure is no use to routing. */
  timeoutMs?: number;
}

/** One parsed sample of a Prometheus text exposition. */
export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The sources a load monitor asks, and how fresh their figures must be. */
export interface LoadMonitorOptions {
  /** Each source with its models: server model name -> pool model id. */
  sources: Array<{ source: LoadSource; models: Record<string, string> }>;
  /** How old the server figures may get before `load` asks again. Default 1000 ms. */
  ttlMs?: number;
  /** The clock, in ms. Default `Date.now`. */
  now?: () => number;
  /** A source failed to answer; its last figures stay in use. */
  onError?: (error: CadreError) => void;
}

/** Answers "how busy is this model" synchronously, from figures refreshed on demand in the background. */
export interface LoadMonitor {
  /** Cached server figures plus cadre's own count; starts one background refresh when they are stale. */
  load(id: string): ModelLoad;
  /** A call to `id` starts (or queues). */
  begin(id: string): void;
  /** A call to `id` finished; the count never goes below 0. */
  end(id: string): void;
  /** Asks every source now. Never rejects: a failing source keeps its last figures and reports through `onError`. */
  refresh(): Promise<void>;
  /** Aborts a refresh under way and starts no more. */
  close(): void;
}

type Figures = Omit<ModelLoad, 'inFlight'>;

/** Tracks the load of pool models from cadre's own calls and what the servers report. */
export function createLoadMonitor(options: LoadMonitorOptions): LoadMonitor {
  const { sources, ttlMs = 1000, now = Date.now, onError } = options;
  const inFlight = new Map<string, number>();
  // Per source, so a failing source keeps its own last figures while the others move on.
  const perSource = sources.map(() => new Map<string, Figures>());
  let merged = new Map<string, Figures>();
  let checkedAt = -Infinity;
  let running: Promise<void> | undefined;
  const controller = new AbortController();

  const report = (error: unknown) => {
    if (controller.signal.aborted) return;
    try {
      onError?.(CadreError.from(error, 'provider_error'));
    } catch {
      // A throwing listener must not turn a background refresh into an unhandled rejection.
    }
  };

  const refreshSource = async (index: number) => {
    const { source, models } = sources[index]!;
    const reply = await source.refresh(controller.signal);
    if (controller.signal.aborted) return;
    const sampledAt = now();
    const next = new Map<string, Figures>();
    for (const [serverName, id] of Object.entries(models)) {
      const figures = reply.get(serverName) ?? source.unlisted ?? {};
      next.set(id, {
        waiting: figures.waiting ?? 0,
        ...(figures.loaded !== undefined ? { loaded: figures.loaded } : {}),
        sampledAt,
      });
    }
    perSource[index] = next;
  };

  const runOnce = async () => {
    checkedAt = now();
    const results = await Promise.allSettled(sources.map((_, index) => refreshSource(index)));
    for (const result of results) if (result.status === 'rejected') report(result.reason);
    merged = mergeFigures(perSource);
  };

  const refresh = (): Promise<void> => {
    if (controller.signal.aborted) return Promise.resolve();
    const start = async () => {
      if (!controller.signal.aborted) await runOnce().catch(report);
    };
    // Queue behind a refresh under way rather than overlap it: its figures may predate the caller's question.
    const next = running ? running.then(start) : start();
    running = next;
    void next.finally(() => {
      if (running === next) running = undefined;
    });
    return next;
  };

  return {
    load(id) {
      if (running === undefined && sources.length > 0 && now() - checkedAt >= ttlMs) void refresh();
      const figures = merged.get(id);
      return { inFlight: inFlight.get(id) ?? 0, waiting: 0, ...figures };
    },
    begin(id) {
      inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
    },
    end(id) {
      const count = (inFlight.get(id) ?? 0) - 1;
      if (count > 0) inFlight.set(id, count);
      else inFlight.delete(id);
    },
    refresh,
    close() {
      controller.abort();
    },
  };
}

/** Combines figures when several sources map to one pool id: queues add up, any loaded copy counts. */
function mergeFigures(perSource: Map<string, Figures>[]): Map<string, Figures> {
  const merged = new Map<string, Figures>();
  for (const figures of perSource) {
    for (const [id, load] of figures) {
      const prior = merged.get(id);
      if (!prior) {
        merged.set(id, load);
        continue;
      }
      const loaded = prior.loaded === true || load.loaded === true ? true : (prior.loaded ?? load.loaded);
      merged.set(id, {
        waiting: prior.waiting + load.waiting,
        ...(loaded !== undefined ? { loaded } : {}),
        // The oldest figure bounds how fresh the combined one is.
        sampledAt: Math.min(prior.sampledAt ?? Infinity, load.sampledAt ?? Infinity),
      });
    }
  }
  return merged;
}

const defaultTimeoutMs = 1000;

/** Reads Ollama's `/api/ps`: every listed model is loaded. */
export function ollamaLoadSource(options: LoadSourceOptions): LoadSource {
  const baseURL = options.baseURL.replace(/\/+$/, '');
  return {
    unlisted: { loaded: false, waiting: 0 },
    refresh: async (signal) => {
      const body = (await getJson(`${baseURL}/api/ps`, {
        headers: options.headers,
        timeoutMs: options.timeoutMs ?? defaultTimeoutMs,
        signal,
      })) as {
        models?: Array<Record<string, unknown>>;
      };
      const figures = new Map<string, Partial<ModelLoad>>();
      for (const entry of body.models ?? []) {
        // Ollama itself reports no queue depth; proxies in front of it may add one of these fields.
        const depth = [entry.queue_depth, entry.pending].find(
          (v): v is number => typeof v === 'number' && Number.isFinite(v),
        );
        const load: Partial<ModelLoad> = { loaded: true, ...(depth !== undefined ? { waiting: depth } : {}) };
        // Users often name `llama3.1` where Ollama lists `llama3.1:latest`.
        for (const name of [entry.name, entry.model]) {
          if (typeof name !== 'string') continue;
          figures.set(name, load);
          if (name.endsWith(':latest')) figures.set(name.slice(0, -':latest'.length), load);
        }
      }
      return figures;
    },
  };
}

/** Queue gauges of servers that serve one model and label no model: TGI, llama.cpp. */
const unlabelledQueues = ['tgi_queue_size', 'llamacpp:requests_deferred'];

/**
 * Reads a local server's Prometheus `/metrics`: vLLM's waiting requests per served model name, or
 * the queue of a one-model server (TGI `tgi_queue_size`, llama.cpp `llamacpp:requests_deferred`,
 * counted for every name in `models`).
 */
export function metricsLoadSource(options: LoadSourceOptions & { models?: readonly string[] }): LoadSource {
  // Clients are configured with the `/v1` URL; metrics live beside it, not under it.
  const origin = options.baseURL.replace(/\/+$/, '').replace(/\/v1$/, '');
  const waitingName = 'vllm:num_requests_waiting';
  return {
    unlisted: { waiting: 0 },
    refresh: async (signal) => {
      const text = await getText(`${origin}/metrics`, {
        headers: options.headers,
        timeoutMs: options.timeoutMs ?? defaultTimeoutMs,
        signal,
      });
      const figures = new Map<string, Partial<ModelLoad>>();
      for (const sample of parsePrometheusGauges(text, [
        waitingName,
        'vllm:num_requests_running',
        ...unlabelledQueues,
      ])) {
        if (unlabelledQueues.includes(sample.name)) {
          const waiting = Number.isFinite(sample.value) ? sample.value : 0;
          for (const model of options.models ?? [])
            figures.set(model, { loaded: true, waiting: (figures.get(model)?.waiting ?? 0) + waiting });
          continue;
        }
        const model = sample.labels.model_name;
        if (model === undefined) continue;
        // vLLM keeps every model it serves in memory.
        const load = figures.get(model) ?? { loaded: true, waiting: 0 };
        // Data-parallel engines report one series each (an `engine` label); the model's queue is their sum.
        if (sample.name === waitingName && Number.isFinite(sample.value))
          load.waiting = (load.waiting ?? 0) + sample.value;
        figures.set(model, load);
      }
      return figures;
    },
  };
}

async function getText(
  url: string,
  options: { headers?: Record<string, string>; timeoutMs: number; signal?: AbortSignal },
): Promise<string> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const response = await fetch(url, { headers: options.headers, signal });
    if (!response.ok) {
      await response.body?.cancel();
      throw new CadreError('provider_error', `${url}: HTTP ${response.status}`);
    }
    return await response.text();
  } catch (error) {
    if (CadreError.isInstance(error)) throw error;
    const reason = timeout.aborted ? `no answer within ${options.timeoutMs} ms` : (error as Error).message;
    throw new CadreError('provider_error', `${url}: ${reason}`, { cause: error });
  }
}

const sampleName = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/;
const labelPair = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;
const labelsEnd = /\s*\}/y;

/** The samples of the metrics named in `names` from Prometheus text exposition; other lines are skipped. */
export function parsePrometheusGauges(text: string, names: readonly string[]): PrometheusSample[] {
  const wanted = new Set(names);
  const samples: PrometheusSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const name = sampleName.exec(line)?.[1];
    if (!name || !wanted.has(name)) continue;
    let at = name.length;
    const labels: Record<string, string> = {};
    if (line[at] === '{') {
      at += 1;
      labelPair.lastIndex = at;
      for (let m = labelPair.exec(line); m; m = labelPair.exec(line)) {
        labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        at = labelPair.lastIndex;
      }
      labelsEnd.lastIndex = at;
      if (!labelsEnd.exec(line)) continue; // malformed label set
      at = labelsEnd.lastIndex;
    }
    const value = parseSampleValue(line.slice(at).trim().split(/\s+/)[0] ?? '');
    if (value !== undefined) samples.push({ name, labels, value });
  }
  return samples;
}

function parseSampleValue(token: string): number | undefined {
  if (/^[+]?Inf$/i.test(token)) return Infinity;
  if (/^-Inf$/i.test(token)) return -Infinity;
  if (/^NaN$/i.test(token)) return NaN;
  const value = Number(token);
  return token !== '' && !Number.isNaN(value) ? value : undefined;
}
