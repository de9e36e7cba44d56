import { describe, expect, it } from 'vitest';
import { RunEventStream, type CadreEvent, type CadreEventPayload, type EventLog } from 'cadre';

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

  it("stores an event as the payload then runId, seq and ts, and leaves the caller's payload as it was", () => {
    const stored: string[] = [];
    const log: EventLog = {
      append: (event) => void stored.push(JSON.stringify(event)),
      read: () => [],
      lastSeq: () => 0,
    };
    const stream = new RunEventStream('run_k', { log });
    const payload: CadreEventPayload = { type: 'run.cancelled', reason: 'token sk-abcdefghijklmnopqrstuvwx' };
    const event = stream.emit(payload)!;
    expect(Object.keys(event)).toEqual(['type', 'reason', 'runId', 'seq', 'ts']);
    expect(stored[0]).toBe(
      `{"type":"run.cancelled","reason":"token [redacted]","runId":"run_k","seq":1,"ts":${event.ts}}`,
    );
    // The stamps went on the stream's redacted copy, not on the object the caller still holds.
    expect(payload).toEqual({ type: 'run.cancelled', reason: 'token sk-abcdefghijklmnopqrstuvwx' });
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

  describe('model.delta', () => {
    const delta = (text: string): CadreEventPayload => ({
      type: 'model.delta',
      taskId: 't1',
      agent: 'writer',
      step: 1,
      text,
    });
    const response: CadreEventPayload = {
      type: 'model.response',
      taskId: 't1',
      step: 1,
      model: 'scripted',
      content: 'Hello',
      toolCalls: [],
      usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
      costUsd: 0,
      latencyMs: 1,
      replayed: false,
    };
    /** A durable log in memory, resumed at `startSeq` as a restarted run would be. */
    const memoryLog = (): EventLog & { stored: CadreEvent[] } => {
      const stored: CadreEvent[] = [];
      return {
        stored,
        append: (event) => void stored.push(event),
        read: (_runId, fromSeq = 1) => stored.filter((e) => e.seq >= fromSeq),
        lastSeq: () => stored.at(-1)?.seq ?? 0,
      };
    };

    it('reaches its own listeners but is neither stored nor given a seq of its own', () => {
      const log = memoryLog();
      const stream = new RunEventStream('run_d', { log, startSeq: 5 });
      const typed: Array<[string, number]> = [];
      stream.on('model.delta', (event) => typed.push([event.text ?? '', event.seq]));
      stream.emit({ type: 'run.started', goal: 'greet' });
      stream.emit(delta('Hel'));
      stream.emit(delta('lo'));
      stream.emit(response);
      stream.emit({ type: 'run.cancelled', reason: 'done' });

      expect(typed).toEqual([
        ['Hel', 5],
        ['lo', 5],
      ]);
      expect(log.stored.map((e) => [e.type, e.seq])).toEqual([
        ['run.started', 5],
        ['model.response', 6],
        ['run.cancelled', 7],
      ]);
      expect(stream.history().map((e) => e.seq)).toEqual([5, 6, 7]);
    });

    it("does not reach '*' listeners, which get every stored event and nothing else", () => {
      const stream = new RunEventStream('run_s');
      const all: CadreEvent[] = [];
      stream.on('*', (event) => all.push(event));
      stream.emit({ type: 'run.started', goal: 'greet' });
      stream.emit(delta('Hel'));
      stream.emit(delta('lo'));
      stream.emit(response);
      expect(all.map((e) => [e.type, e.seq])).toEqual([
        ['run.started', 1],
        ['model.response', 2],
      ]);
    });

    it('reaches an iterator only when it asks for transient events, each after the event it follows', async () => {
      const stream = new RunEventStream('run_i');
      stream.emit({ type: 'run.started', goal: 'greet' });
      const plain: string[] = [];
      const live: string[] = [];
      const read = async (into: string[], transient: boolean) => {
        for await (const event of stream.events(1, { transient }))
          into.push(
            event.type === 'model.delta' ? `delta ${event.text} after ${event.seq}` : `${event.type} ${event.seq}`,
          );
      };
      const reading = Promise.all([read(plain, false), read(live, true)]);
      await new Promise((r) => setTimeout(r, 5));
      stream.emit(delta('Hel'));
      stream.emit(delta('lo'));
      stream.emit(response);
      stream.close();
      await reading;
      expect(plain).toEqual(['run.started 1', 'model.response 2']);
      expect(live).toEqual(['run.started 1', 'delta Hel after 1', 'delta lo after 1', 'model.response 2']);
      // A reader that comes later gets the whole response from the log, and no deltas.
      const late: string[] = [];
      await read(late, true);
      expect(late).toEqual(['run.started 1', 'model.response 2']);
    });

    it('says whether anyone listens live, so a producer can skip streaming nobody sees', async () => {
      const stream = new RunEventStream('run_l');
      const waiting = (transient: boolean) => stream.events(1, { transient })[Symbol.asyncIterator]().next();
      const plainReader = waiting(false);
      await new Promise((r) => setTimeout(r, 5));
      expect(stream.hasListeners('model.delta')).toBe(false);
      const liveReader = waiting(true);
      await new Promise((r) => setTimeout(r, 5));
      expect(stream.hasListeners('model.delta')).toBe(true);
      stream.emit(response);
      await Promise.all([plainReader, liveReader]);
      expect(stream.hasListeners('model.delta')).toBe(true); // the live reader is still open
    });

    it('counts callbacks as live listeners until they unsubscribe', () => {
      const stream = new RunEventStream('run_c');
      expect(stream.hasListeners('model.delta')).toBe(false);
      const off = stream.on('model.delta', () => undefined);
      expect(stream.hasListeners('model.delta')).toBe(true);
      off();
      expect(stream.hasListeners('model.delta')).toBe(false);
    });

    it("does not count a '*' listener as listening for deltas, only for stored events", () => {
      const stream = new RunEventStream('run_w');
      stream.on('*', () => undefined);
      expect(stream.hasListeners('model.delta')).toBe(false);
      expect(stream.hasListeners('model.response')).toBe(true);
    });
  });
});
