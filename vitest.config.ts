import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';
import { ProjectSummaryReporter } from './test/reporters/project-summary.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// LangGraph's checkpointer validation (about 720 tests) is upstream's suite, not cadre's: it runs as
// a project of its own so the summary counts it apart from cadre's tests.
const upstreamConformance = ['test/runtime/checkpointer-conformance.test.ts'];

export default defineConfig({
  resolve: {
    alias: [
      { find: /^cadre\/agents$/, replacement: here('./agents/index.ts') },
      { find: /^cadre\/planners$/, replacement: here('./planners/index.ts') },
      { find: /^cadre\/memory$/, replacement: here('./memory/index.ts') },
      { find: /^cadre\/tools$/, replacement: here('./tools/index.ts') },
      { find: /^cadre\/models$/, replacement: here('./src/models/index.ts') },
      { find: /^cadre\/testing$/, replacement: here('./src/testing/index.ts') },
      { find: /^cadre\/client$/, replacement: here('./src/client/index.ts') },
      { find: /^cadre\/jobs$/, replacement: here('./src/jobs/index.ts') },
      { find: /^cadre\/eval$/, replacement: here('./src/eval/index.ts') },
      { find: /^cadre$/, replacement: here('./src/index.ts') },
    ],
  },
  test: {
    // The checkpoint validation calls beforeAll as a global.
    globals: true,
    // Runs keep nothing on disk unless a test gives them a database file; runs and jobs use the embedded
    // store and queue unless a test picks PostgreSQL or BullMQ (CI sets CADRE_DATABASE_URL and
    // CADRE_REDIS_URL, which alone would pick them).
    env: { CADRE_DATABASE_PATH: ':memory:', CADRE_JOB_QUEUE: 'sqlite', CADRE_RUN_STORE: 'sqlite' },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: [
      'default',
      new ProjectSummaryReporter({
        cadre: 'cadre',
        'langgraph-checkpoint': 'upstream LangGraph checkpoint conformance',
      }),
    ],
    projects: [
      {
        extends: true,
        test: {
          name: 'cadre',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...upstreamConformance],
        },
      },
      { extends: true, test: { name: 'langgraph-checkpoint', include: upstreamConformance } },
    ],
  },
});
