import type { Pool, PoolClient } from 'pg';
import { localWakes, type EventWakes } from '../follow-events.js';

/** The channel a PostgreSQL store notifies, with the run's id, when it stores events of that run. */
export const eventsChannel = 'cadre_events';

/** A store's one LISTEN connection, and the followers it wakes. */
export interface PostgresWakes {
  wakes: EventWakes;
  /** Resolves once the connection listens (or could not: followers then poll). */
  ready(): Promise<void>;
  /** Wakes this process's followers of a run at once, without waiting for the notification. */
  announce(runId: string): void;
  /** Gives the connection back; before the pool ends. */
  close(): Promise<void>;
}

/**
 * Wakes followers of a run when any process stores events of it: one connection of the pool
 * LISTENs on {@link eventsChannel}, opened when the first follower comes. A connection that fails
 * is dropped and opened again by the next follower; meanwhile followers read on their poll timer.
 */
export function postgresWakes(pool: Pool): PostgresWakes {
  const local = localWakes();
  let closed = false;
  let listening: Promise<PoolClient | undefined> | undefined;
  const listen = () =>
    (listening ??= pool
      .connect()
      .then(async (client) => {
        client.on('notification', (message) => {
          if (message.channel === eventsChannel && message.payload) local.announce(message.payload);
        });
        client.on('error', () => {
          listening = undefined;
          client.release(true);
        });
        await client.query(`LISTEN ${eventsChannel}`);
        return client;
      })
      .catch(() => (listening = undefined)));
  return {
    wakes: (runId, onWake) => {
      if (!closed) void listen();
      return local.wakes(runId, onWake);
    },
    ready: async () => {
      if (!closed) await listen();
    },
    announce: local.announce,
    close: async () => {
      closed = true;
      (await listening)?.release(true);
      listening = undefined;
    },
  };
}
