import type { Tool } from '../define-tool.js';
import { createCalculatorTool } from './calculator.js';
import { createCurrentTimeTool } from './current-time.js';
import { createFileTools } from './file-tools.js';
import { createHttpFetchTool } from './http-fetch.js';

export { createCalculatorTool } from './calculator.js';
export { createCurrentTimeTool } from './current-time.js';
export { createFileTools, type FileToolsOptions } from './file-tools.js';
export { createHttpFetchTool, type HttpFetchOptions } from './http-fetch.js';
export { resolveInsideRoot } from './path-guard.js';
// Not in builtinTools(): running programs is opt-in.
export { createShellTool, type ShellToolOptions } from './shell.js';

/** Every built-in tool; http_fetch only when some host is allowed. */
export function builtinTools(options: { root: string; allowedHosts?: readonly string[] }): Tool[] {
  const tools = [createCalculatorTool(), createCurrentTimeTool(), ...createFileTools({ root: options.root })];
  if (options.allowedHosts?.length) tools.push(createHttpFetchTool({ allowedHosts: options.allowedHosts }));
  return tools;
}
