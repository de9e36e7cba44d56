export { sandboxCommand, type SandboxOptions, type SandboxCommand } from './sandbox-command.js';
