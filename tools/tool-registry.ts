import { CadreError } from '../src/core/index.js';
import type { Tool } from './define-tool.js';

/** Tools by name. Names are unique: the model calls a tool by its name. */
export class ToolRegistry {
  private readonly tools = new Map<string, Tool>();

  constructor(tools: readonly Tool[] = []) {
    for (const tool of tools) this.register(tool);
  }

  /** Adds a tool; a second tool with the same name is refused with `input_invalid`. */
  register(tool: Tool): this {
    if (this.tools.has(tool.name))
      throw new CadreError('input_invalid', `A tool named "${tool.name}" is already registered`);
    this.tools.set(tool.name, tool);
    return this;
  }

  /** The tool with this name, if there is one. */
  get(name: string): Tool | undefined {
    return this.tools.get(name);
  }

  /** Whether a tool has this name. */
  has(name: string): boolean {
    return this.tools.has(name);
  }

  /** Every tool, in the order registered. */
  list(): Tool[] {
    return [...this.tools.values()];
  }

  /** Every tool's name, in the order registered. */
  names(): string[] {
    return [...this.tools.keys()];
  }
}
