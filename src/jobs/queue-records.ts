import type { Redis } from 'ioredis';

/**
 * Where cadre keeps its record beside each BullMQ job, and the schedules' records: keyed fields
 * (a job's epoch, attempts, runAt…), keyed sets (team slots, held jobs) and sorted sets (leases by
 * expiry, jobs by creation), the lease lock, and the channel that wakes idle workers. Redis holds
 * them natively (`redisRecords`); PostgreSQL in three tables (`postgresRecords`), so a
 * deployment with only PostgreSQL runs BullMQ's queue on it alone.
 */
export interface QueueRecords {
  /** Every field of a key; an empty object for an unknown key. */
  fields(key: string): Promise<Record<string, string>>;
  /** Some fields of a key, in order; undefined where unset. */
  someFields(key: string, ...names: string[]): Promise<(string | undefined)[]>;
  /** Sets a field only if it is unset; true when it was set. */
  setIfUnset(key: string, name: string, value: string): Promise<boolean>;
  /** Every member of a set (a sorted set's too). */
  members(key: string): Promise<string[]>;
  /** How many members a set has. */
  count(key: string): Promise<number>;
  /** Whether a set has the member. */
  has(key: string, member: string): Promise<boolean>;
  /** Members of a sorted set scored at most `max` (below it when `below`), lowest first. */
  upTo(key: string, max: number, below?: boolean): Promise<string[]>;
  /**
   * Members of a sorted set by rank, from `start` (0 or more) to `stop` inclusive (a negative stop
   * counts from the end, -1: the last), highest score first when `reverse`.
   */
  range(key: string, start: number, stop: number, reverse?: boolean): Promise<string[]>;
  /** A batch of writes, applied together: none or all, and no other writer sees half of it. */
  batch(): RecordBatch;
  /** Takes the lock `key` for at most `ttlMs` if nobody holds it; true when taken. */
  lock(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Gives the lock back if `token` still holds it. */
  unlock(key: string, token: string): Promise<void>;
  /** Wakes every subscriber of `channel`, in any process; a lost message is allowed. */
  publish(channel: string): void;
  /** Calls `onMessage` for each message on `channel`; returns the unsubscribe. */
  subscribe(channel: string, onMessage: () => void): () => void;
  /** Closes the connections; the records stay. */
  close(): Promise<void>;
}

/** Writes applied together by `exec`, which resolves to the reply of each in order. */
export interface RecordBatch {
  /** Sets fields of a key. */
  set(key: string, values: Record<string, string | number>): RecordBatch;
  /** Unsets fields of a key. */
  unset(key: string, ...names: string[]): RecordBatch;
  /** Adds `by` to a numeric field (0 when unset); replies with the new value. */
  increment(key: string, name: string, by: number): RecordBatch;
  /** Adds members to a set. */
  add(key: string, ...members: string[]): RecordBatch;
  /** Adds a member to a sorted set, or moves it to `score`. */
  addScored(key: string, score: number, member: string): RecordBatch;
  /** Removes members from a set. */
  remove(key: string, ...members: string[]): RecordBatch;
  /** Removes members from a sorted set. */
  removeScored(key: string, ...members: string[]): RecordBatch;
  /** Deletes a key: its fields or its members. */
  drop(key: string): RecordBatch;
  /** Replies with every field of a key as the batch leaves it. */
  fields(key: string): RecordBatch;
  /** Replies with whether a set has the member, before the writes after it. */
  has(key: string, member: string): RecordBatch;
  /** Applies the batch. */
  exec(): Promise<unknown[]>;
}

/** cadre's queue records in Redis: each method is the Redis command of the same meaning. */
export function redisRecords(redis: Redis): QueueRecords {
  const subscribers = new Set<Redis>();
  const records: QueueRecords = {
    fields: (key) => redis.hgetall(key),
    someFields: async (key, ...names) => (await redis.hmget(key, ...names)).map((value) => value ?? undefined),
    setIfUnset: async (key, name, value) => (await redis.hsetnx(key, name, value)) === 1,
    members: (key) => redis.smembers(key),
    count: (key) => redis.scard(key),
    has: async (key, member) => (await redis.sismember(key, member)) === 1,
    upTo: (key, max, below = false) => redis.zrangebyscore(key, '-inf', below ? `(${max}` : max),
    range: (key, start, stop, reverse = false) =>
      reverse ? redis.zrevrange(key, start, stop) : redis.zrange(key, start, stop),
    batch() {
      const multi = redis.multi();
      // Replies Redis gives as 0/1 that the batch gives as booleans.
      const booleans = new Set<number>();
      let commands = 0;
      const batch: RecordBatch = {
        set: (key, values) => (commands++, multi.hset(key, values), batch),
        unset: (key, ...names) => (commands++, multi.hdel(key, ...names), batch),
        increment: (key, name, by) => (commands++, multi.hincrby(key, name, by), batch),
        add: (key, ...members) => (commands++, multi.sadd(key, ...members), batch),
        addScored: (key, score, member) => (commands++, multi.zadd(key, score, member), batch),
        remove: (key, ...members) => (commands++, multi.srem(key, ...members), batch),
        removeScored: (key, ...members) => (commands++, multi.zrem(key, ...members), batch),
        drop: (key) => (commands++, multi.del(key), batch),
        fields: (key) => (commands++, multi.hgetall(key), batch),
        has: (key, member) => (booleans.add(commands++), multi.sismember(key, member), batch),
        async exec() {
          const replies = (await multi.exec()) ?? [];
          return replies.map(([error, reply], i) => {
            if (error) throw error;
            return booleans.has(i) ? reply === 1 : reply;
          });
        },
      };
      return batch;
    },
    lock: async (key, token, ttlMs) => (await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK',
    async unlock(key, token) {
      await redis.eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        1,
        key,
        token,
      );
    },
    publish: (channel) => void redis.publish(channel, '').catch(() => undefined),
    subscribe(channel, onMessage) {
      // A connection of its own: a subscribed one can do nothing else.
      const subscriber = redis.duplicate();
      subscribers.add(subscriber);
      subscriber.on('message', onMessage);
      // Without the channel the worker's poll still finds the work.
      subscriber.on('error', () => undefined);
      subscriber.subscribe(channel).catch(() => undefined);
      return () => {
        subscribers.delete(subscriber);
        subscriber.disconnect();
      };
    },
    async close() {
      for (const subscriber of subscribers) subscriber.disconnect();
      subscribers.clear();
      // A connection never made (or given up) has nothing to say goodbye to.
      if (redis.status === 'ready') await redis.quit();
      else redis.disconnect();
    },
  };
  return records;
}
