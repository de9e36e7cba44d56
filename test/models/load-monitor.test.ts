import { afterEach, describe, expect, it, vi } from 'vitest';
import { CadreError } from '../../src/core/errors.js';
import {
  createLoadMonitor,
  ollamaLoadSource,
  parsePrometheusGauges,
  metricsLoadSource,
  type LoadMonitor,
  type LoadSource,
  type ModelLoad,
} from '../../src/models/load-monitor.js';
import { startScriptedOllamaServer, startScriptedOpenAIServer, type ScriptedServer } from '../fixtures/model-wire.js';

const servers: ScriptedServer[] = [];
let monitor: LoadMonitor | undefined;
afterEach(async () => {
  monitor?.close();
  monitor = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function vllm(options: Parameters<typeof startScriptedOpenAIServer>[0] = {}) {
  const server = await startScriptedOpenAIServer(options);
  servers.push(server);
  return server;
}
// Promise chains that wait on no I/O have all run by the next macrotask.
const settle = () => new Promise((resolve) => setImmediate(resolve));
const metricsCalls = (server: ScriptedServer) => server.requests.filter((r) => r.path === '/metrics').length;

describe('parsePrometheusGauges', () => {
  it('reads the named gauges with their labels and skips comments and other metrics', () => {
    const text = [
      '# HELP vllm:num_requests_waiting Number of requests waiting.',
      '# TYPE vllm:num_requests_waiting gauge',
      'vllm:num_requests_waiting{model_name="a",engine="0"} 3.0',
      'vllm:num_requests_waiting{ engine = "1" , model_name="a" } 2',
      'vllm:num_requests_waiting_total{model_name="a"} 99',
      'vllm:gpu_cache_usage_perc{model_name="a"} 0.5',
      'vllm:num_requests_running{model_name="say \\"hi\\", \\\\ {}"} 1.5e1 1700000000000',
      'vllm:num_requests_running{model_name="b"} NaN',
      'vllm:num_requests_running{model_name="c"} +Inf',
      'vllm:num_requests_running 4',
      'vllm:num_requests_running{model_name="broken} 4',
      'vllm:num_requests_running{model_name="d"} not-a-number',
    ].join('\r\n');
    const samples = parsePrometheusGauges(text, ['vllm:num_requests_waiting', 'vllm:num_requests_running']);
    expect(samples.slice(0, 3)).toEqual([
      { name: 'vllm:num_requests_waiting', labels: { model_name: 'a', engine: '0' }, value: 3 },
      { name: 'vllm:num_requests_waiting', labels: { model_name: 'a', engine: '1' }, value: 2 },
      { name: 'vllm:num_requests_running', labels: { model_name: 'say "hi", \\ {}' }, value: 15 },
    ]);
    expect(samples[3]?.labels.model_name).toBe('b');
    expect(samples[3]?.value).toBeNaN();
    expect(samples.slice(4)).toEqual([
      { name: 'vllm:num_requests_running', labels: { model_name: 'c' }, value: Infinity },
      { name: 'vllm:num_requests_running', labels: {}, value: 4 },
    ]);
  });
});

describe('load sources', () => {
  it('reads loaded models and a proxy queue depth from Ollama /api/ps, matching `name` to `name:latest`', async () => {
    const server = await startScriptedOllamaServer({
      models: ['llama3.1:latest', 'qwen3:8b'],
      loaded: ['llama3.1:latest'],
    });
    servers.push(server);
    monitor = createLoadMonitor({
      sources: [
        {
          source: ollamaLoadSource({ baseURL: server.url }),
          models: { 'llama3.1': 'local-llama', 'qwen3:8b': 'local-qwen' },
        },
      ],
    });
    await monitor.refresh();
    expect(monitor.load('local-llama')).toMatchObject({ loaded: true, waiting: 0, inFlight: 0 });
    expect(monitor.load('local-qwen')).toMatchObject({ loaded: false, waiting: 0 });
    server.setQueueDepth(5);
    await monitor.refresh();
    expect(monitor.load('local-llama').waiting).toBe(5);
  });

  it('reads the waiting depth per model from vLLM /metrics, given the /v1 base URL', async () => {
    const server = await vllm({ models: [{ id: 'qwen' }, { id: 'llama' }] });
    server.setQueueDepth(6);
    monitor = createLoadMonitor({
      sources: [
        {
          source: metricsLoadSource({ baseURL: server.url }),
          models: { qwen: 'vllm-qwen', llama: 'vllm-llama', gone: 'vllm-gone' },
        },
      ],
    });
    await monitor.refresh();
    expect(monitor.load('vllm-qwen')).toMatchObject({ waiting: 6, loaded: true });
    expect(monitor.load('vllm-llama').waiting).toBe(6);
    expect(monitor.load('vllm-gone')).toMatchObject({ waiting: 0 });
    expect(monitor.load('vllm-gone').loaded).toBeUndefined();
  });

  it('reads the queue of a one-model TGI or llama.cpp server for the models it serves', async () => {
    const tgi = await vllm({ metrics: () => '# TYPE tgi_queue_size gauge\ntgi_queue_size 7\n' });
    expect(await metricsLoadSource({ baseURL: tgi.url, models: ['mistral'] }).refresh()).toEqual(
      new Map([['mistral', { loaded: true, waiting: 7 }]]),
    );
    const llamacpp = await vllm({ metrics: () => 'llamacpp:requests_processing 1\nllamacpp:requests_deferred 4\n' });
    expect(await metricsLoadSource({ baseURL: llamacpp.url, models: ['qwen'] }).refresh()).toEqual(
      new Map([['qwen', { loaded: true, waiting: 4 }]]),
    );
  });

  it('adds up the waiting series of data-parallel vLLM engines', async () => {
    const text =
      'vllm:num_requests_waiting{engine="0",model_name="m"} 2.0\nvllm:num_requests_waiting{engine="1",model_name="m"} 3.0\n';
    const server = await vllm({ metrics: () => text });
    const figures = await metricsLoadSource({ baseURL: server.origin }).refresh();
    expect(figures.get('m')).toEqual({ loaded: true, waiting: 5 });
  });
});

describe('createLoadMonitor', () => {
  it('answers from the cached figures and refreshes once in the background when they are older than ttlMs', async () => {
    const server = await vllm();
    let t = 10_000;
    monitor = createLoadMonitor({
      sources: [{ source: metricsLoadSource({ baseURL: server.url }), models: { m: 'pool-m' } }],
      ttlMs: 1000,
      now: () => t,
    });
    server.setQueueDepth(2);
    expect(monitor.load('pool-m')).toEqual({ inFlight: 0, waiting: 0 }); // nothing known yet; a refresh starts
    expect(monitor.load('pool-m').waiting).toBe(0);
    await vi.waitFor(() => expect(monitor!.load('pool-m').waiting).toBe(2));
    expect(metricsCalls(server)).toBe(1);
    expect(monitor.load('pool-m').sampledAt).toBe(10_000);

    server.setQueueDepth(7);
    t += 999;
    monitor.load('pool-m');
    expect(metricsCalls(server)).toBe(1);

    t += 1;
    expect(monitor.load('pool-m').waiting).toBe(2); // still the cached figure, synchronously
    expect(monitor.load('pool-m').waiting).toBe(2);
    await vi.waitFor(() => expect(monitor!.load('pool-m').waiting).toBe(7));
    expect(metricsCalls(server)).toBe(2);
    expect(monitor.load('pool-m').sampledAt).toBe(11_000);
  });

  it('never overlaps refreshes, however often load is called while one is under way', async () => {
    let calls = 0;
    let answer: ((figures: Map<string, Partial<ModelLoad>>) => void) | undefined;
    const source: LoadSource = {
      refresh: () => {
        calls += 1;
        return new Promise((resolve) => (answer = resolve));
      },
    };
    let t = 0;
    monitor = createLoadMonitor({ sources: [{ source, models: { m: 'pool-m' } }], ttlMs: 10, now: () => t });
    for (let i = 0; i < 5; i += 1) {
      monitor.load('pool-m');
      t += 100;
    }
    expect(calls).toBe(1);
    answer!(new Map([['m', { waiting: 4 }]]));
    await settle();
    expect(calls).toBe(1); // the loads made meanwhile queued nothing
    expect(monitor.load('pool-m').waiting).toBe(4);
    expect(calls).toBe(2); // the snapshot is stale again, so that load asked once more
    monitor.load('pool-m');
    answer!(new Map([['m', { waiting: 5 }]]));
    await settle();
    expect(calls).toBe(2);
    expect(monitor.load('pool-m').waiting).toBe(5);
  });

  it('queues an explicit refresh behind one under way and then asks the server afresh', async () => {
    const answers: Array<(figures: Map<string, Partial<ModelLoad>>) => void> = [];
    const source: LoadSource = { refresh: () => new Promise((resolve) => answers.push(resolve)) };
    monitor = createLoadMonitor({ sources: [{ source, models: { m: 'pool-m' } }] });
    const first = monitor.refresh();
    const second = monitor.refresh();
    expect(answers).toHaveLength(1);
    answers[0]!(new Map([['m', { waiting: 1 }]]));
    await first;
    await settle();
    expect(answers).toHaveLength(2);
    answers[1]!(new Map([['m', { waiting: 9 }]]));
    await second;
    expect(monitor.load('pool-m').waiting).toBe(9);
  });

  it('keeps the last figures of a failing source and reports the failure through onError', async () => {
    let failing = false;
    const server = await vllm({
      metrics: () => {
        if (failing) throw new Error('metrics down');
        return 'vllm:num_requests_waiting{model_name="m"} 3\n';
      },
    });
    const other = await vllm({ models: [{ id: 'n' }] });
    const errors: unknown[] = [];
    monitor = createLoadMonitor({
      sources: [
        { source: metricsLoadSource({ baseURL: server.url }), models: { m: 'pool-m' } },
        { source: metricsLoadSource({ baseURL: other.url }), models: { n: 'pool-n' } },
      ],
      onError: (error) => errors.push(error),
    });
    await monitor.refresh();
    expect(errors).toEqual([]);
    failing = true;
    other.setQueueDepth(8);
    await expect(monitor.refresh()).resolves.toBeUndefined();
    expect(monitor.load('pool-m').waiting).toBe(3);
    expect(monitor.load('pool-n').waiting).toBe(8);
    expect(errors).toHaveLength(1);
    expect(CadreError.isInstance(errors[0]) && errors[0].code).toBe('provider_error');
  });

  it("counts cadre's own calls per model and never below zero", () => {
    monitor = createLoadMonitor({ sources: [] });
    monitor.begin('a');
    monitor.begin('a');
    monitor.begin('b');
    monitor.end('a');
    expect(monitor.load('a').inFlight).toBe(1);
    expect(monitor.load('b').inFlight).toBe(1);
    monitor.end('b');
    monitor.end('b');
    expect(monitor.load('b').inFlight).toBe(0);
    monitor.begin('b');
    expect(monitor.load('b').inFlight).toBe(1);
  });

  it('merges its own count with the server figures', async () => {
    const server = await vllm();
    server.setQueueDepth(3);
    monitor = createLoadMonitor({
      sources: [{ source: metricsLoadSource({ baseURL: server.url }), models: { m: 'pool-m' } }],
    });
    await monitor.refresh();
    monitor.begin('pool-m');
    expect(monitor.load('pool-m')).toMatchObject({ inFlight: 1, waiting: 3, loaded: true });
  });

  it('starts no refresh after close', async () => {
    const server = await vllm();
    let t = 0;
    monitor = createLoadMonitor({
      sources: [{ source: metricsLoadSource({ baseURL: server.url }), models: { m: 'pool-m' } }],
      now: () => t,
    });
    await monitor.refresh();
    monitor.close();
    t += 60_000;
    monitor.load('pool-m');
    await monitor.refresh();
    expect(metricsCalls(server)).toBe(1);
  });
});
