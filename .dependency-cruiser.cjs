/** Import direction (see DESIGN.md): core <- models, tools, memory <- agents, planners <- runtime <- app <- server, eval <- cli; client <- core's types only. */
const layer = (name, path, mayImport) => ({
  name: `${name}-imports-only-below`,
  severity: 'error',
  comment: `${path} may import only from: ${mayImport.join(', ') || 'nothing in cadre'}`,
  from: { path: `^${path}/` },
  to: {
    path: '^(src|agents|planners|memory|tools)/',
    pathNot: [`^${path}/`, ...mayImport.map((p) => `^${p}/`)],
  },
});

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    layer('core', 'src/core', []),
    layer('models', 'src/models', ['src/core']),
    layer('tools', 'tools', ['src/core']),
    layer('memory', 'memory', ['src/core', 'src/models']),
    layer('agents', 'agents', ['src/core', 'src/models', 'tools', 'memory']),
    layer('planners', 'planners', ['src/core', 'src/models', 'tools', 'memory', 'agents']),
    layer('runtime', 'src/runtime', ['src/core', 'src/models', 'tools', 'memory', 'agents', 'planners']),
    layer('testing', 'src/testing', ['src/core', 'src/models', 'tools', 'memory']),
    // The app registry: teams by name over the runtime; the built-in demo team plays scripted models.
    layer('app', 'src/app', [
      'src/core',
      'src/models',
      'tools',
      'memory',
      'agents',
      'planners',
      'src/runtime',
      'src/testing',
    ]),
    // The evaluation harness: runs agents, strategies and registered teams over suites of cases.
    layer('eval', 'src/eval', [
      'src/core',
      'src/models',
      'tools',
      'memory',
      'agents',
      'planners',
      'src/runtime',
      'src/testing',
      'src/app',
    ]),
    // Jobs, schedules and workers: a worker rebuilds a job's team by name from the registry.
    layer('jobs', 'src/jobs', [
      'src/core',
      'src/models',
      'tools',
      'memory',
      'agents',
      'planners',
      'src/runtime',
      'src/app',
    ]),
    layer('server', 'src/server', [
      'src/core',
      'src/models',
      'tools',
      'memory',
      'agents',
      'planners',
      'src/runtime',
      'src/app',
      'src/jobs',
    ]),
    layer('cli', 'src/cli', [
      'src/core',
      'src/models',
      'tools',
      'memory',
      'agents',
      'planners',
      'src/runtime',
      'src/testing',
      'src/app',
      'src/server',
      'src/jobs',
      'src/eval',
    ]),
    // cadre/client runs in browsers: cadre's error and event types, and one SSE parser, nothing else.
    {
      name: 'client-imports-only-core-types',
      severity: 'error',
      comment: 'src/client may import only src/core/errors.ts and src/core/events.ts (and what they import)',
      from: { path: '^src/client/' },
      to: {
        path: '^(src|agents|planners|memory|tools)/',
        pathNot: ['^src/client/', '^src/core/(errors|events|usage)[.]ts$'],
      },
    },
    {
      name: 'client-packages-browser-safe',
      severity: 'error',
      comment: 'src/client may use only eventsource-parser from npm (no database, model or server packages)',
      from: { path: '^src/client/' },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown', 'core'],
        pathNot: ['eventsource-parser'],
      },
    },
    {
      name: 'no-dev-deps-in-library',
      severity: 'error',
      from: { path: '^(src|agents|planners|memory|tools)/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
