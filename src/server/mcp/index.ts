export { createCadreMcpServer, type CadreMcpServerOptions } from './cadre-mcp-server.js';
export { runGoalWith } from './run-goal.js';
export { serveStdio } from './serve-stdio.js';
export { serveHttp, type HttpServing, type ServeHttpOptions } from './serve-http.js';
