import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^cadre\/agents$/, replacement: here('./agents/index.ts') },
      { find: /^cadre\/planners$/, replacement: here('./planners/index.ts') },
      { find: /^cadre\/memory$/, replacement: here('./memory/index.ts') },
      { find: /^cadre\/tools$/, replacement: here('./tools/index.ts') },
      { find: /^cadre\/models$/, replacement: here('./src/models/index.ts') },
      { find: /^cadre\/testing$/, replacement: here('./src/testing/index.ts') },
      { find: /^cadre$/, replacement: here('./src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globals: true,
    // Runs keep nothing on disk unless a test gives them a database file.
    env: { CADRE_DATABASE_PATH: ':memory:' },
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
