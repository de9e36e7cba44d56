export { createCadreMcpServer, type CadreMcpServerOptions } from './cadre-mcp-server.js';
export { runGoalWith, type RunGoal, type RunGoalContext } from './run-goal.js';
export { runEventsUri, runUri, runView } from './run-list.js';
export type { MemorySearch } from './run-resources.js';
export type { RunStore } from './run-watch.js';
export { toMcpError } from './mcp-errors.js';
export { serveStdio } from './serve-stdio.js';
export { serveHttp, type HttpServing, type ServeHttpOptions } from './serve-http.js';
