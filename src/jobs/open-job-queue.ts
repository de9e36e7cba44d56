import { loadConfig, type CadreConfigInput, type JobQueue } from '../core/index.js';
import { openConfiguredStore } from '../runtime/index.js';
import { ScheduleStore } from './schedules.js';
import { SqliteJobQueue } from './sqlite-job-queue.js';

const queues = new WeakMap<object, JobQueue>();
const schedules = new WeakMap<object, ScheduleStore>();

/** The job queue a config names: the embedded queue in the configured database, one per connection. */
export function openJobQueue(config: CadreConfigInput = {}): JobQueue {
  const { db } = openConfiguredStore(loadConfig(config));
  let queue = queues.get(db);
  if (!queue) queues.set(db, (queue = new SqliteJobQueue(db)));
  return queue;
}

/** The schedules in the configured database, one store per connection. */
export function openScheduleStore(config: CadreConfigInput = {}): ScheduleStore {
  const { db } = openConfiguredStore(loadConfig(config));
  let store = schedules.get(db);
  if (!store) schedules.set(db, (store = new ScheduleStore(db)));
  return store;
}
