import { describe, expect, it } from 'vitest';
import { RunEventStream, type CadreEvent } from 'cadre';

describe('RunEventStream', () => {
  it('numbers events from 1 and replays from any seq, then follows live events until closed', async () => {
    const stream = new RunEventStream('run_1');
    stream.emit({ type: 'run.started', goal: 'a' });
    stream.emit({ type: 'run.cancelled', reason: 'x' });
    const seen: CadreEvent[] = [];
    const reading = (async () => {
      for await (const event of stream.events(2)) seen.push(event);
    })();
    await new Promise((r) => setTimeout(r, 5));
    stream.emit({ type: 'run.started', goal: 'b' });
    stream.close();
    await reading;
    expect(seen.map((e) => e.seq)).toEqual([2, 3]);
    expect(seen.every((e) => e.runId === 'run_1' && typeof e.ts === 'number')).toBe(true);
  });

  it('delivers typed callbacks and stops after unsubscribe', () => {
    const stream = new RunEventStream('run_2');
    const goals: string[] = [];
    const off = stream.on('run.started', (event) => goals.push(event.goal));
    stream.emit({ type: 'run.started', goal: 'one' });
    off();
    stream.emit({ type: 'run.started', goal: 'two' });
    expect(goals).toEqual(['one']);
  });

  it('redacts secrets in event payloads', () => {
    const stream = new RunEventStream('run_3');
    const event = stream.emit({
      type: 'tool.called',
      taskId: 't',
      step: 1,
      callId: 'c',
      tool: 'http',
      effects: 'read',
      replayed: false,
      args: {
        url: 'https://x',
        apiKey: 'k-123',
        headers: { Authorization: 'Bearer abcdefghijklmnopqrstuvwxyz' },
        maxTokens: 5,
      },
    });
    expect(event?.type === 'tool.called' && event.args).toEqual({
      url: 'https://x',
      apiKey: '[redacted]',
      headers: { Authorization: '[redacted]' },
      maxTokens: 5,
    });
    const text = stream.emit({ type: 'run.started', goal: 'use sk-abcdefghijklmnopqrstuvwx please' });
    expect(text?.type === 'run.started' && text.goal).toBe('use [redacted] please');
  });

  it('keeps working when its durable log fails, and remembers the failure', () => {
    const failing = {
      append: () => {
        throw new Error('disk full');
      },
      read: () => [],
      lastSeq: () => 0,
    };
    const stream = new RunEventStream('run_4', { log: failing });
    expect(() => stream.emit({ type: 'run.started', goal: 'g' })).not.toThrow();
    stream.emit({ type: 'run.cancelled', reason: 'r' });
    expect(stream.history().map((e) => e.seq)).toEqual([1, 2]);
    expect(stream.persistError?.message).toBe('disk full');
  });
});
