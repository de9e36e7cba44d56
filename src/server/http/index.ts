export { createHttpApi, type HttpApi, type HttpApiOptions } from './http-app.js';
export { serveHttpApi, type HttpApiServing } from './serve-http-api.js';
export {
  HttpServerOptionsSchema,
  loadHttpServerOptions,
  type HttpServerOptions,
  type HttpServerOptionsInput,
} from './server-options.js';
export { loopbackPolicy, type HostOriginPolicy } from './request-guard.js';
export type { Caller } from './api-key-auth.js';
export type { RedriveReport } from './run-service.js';
