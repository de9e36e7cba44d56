/**
 * Tools agents call: definitions, the registry and executor, built-in tools, MCP servers, call policy and the sandbox.
 *
 * @module cadre/tools
 */
export * from './define-tool.js';
export * from './tool-registry.js';
export * from './tool-executor.js';
export { StructuredOutput } from './structured-output.js';
export { toLangChainTool, fromLangChainTool } from './langchain.js';
export * from './builtin/index.js';
export * from './mcp/index.js';
export * from './sandbox/index.js';
export * from './policy/index.js';
