import { describe, it } from 'vitest';
import { openCadreStore } from 'cadre';
import { SqliteJobQueue } from 'cadre/jobs';
import { jobQueueConformance } from 'cadre/testing';

jobQueueConformance({
  name: 'SqliteJobQueue (embedded)',
  create: () => new SqliteJobQueue(openCadreStore({ path: ':memory:' }).db),
  testApi: { describe, it },
});
