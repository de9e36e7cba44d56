import type { MathJsInstance } from 'mathjs';
import { z } from 'zod';
import { CadreError } from '../../src/core/index.js';
import { defineTool, type Tool } from '../define-tool.js';

type MathInstance = MathJsInstance;
let instance: Promise<{ math: MathInstance; parse: MathInstance['parse'] }> | undefined;

/**
 * A locked-down mathjs: its parser, with every function that could reach code or state disabled,
 * as mathjs's security guidance describes. Loaded on first use, so importing tools stays cheap.
 */
function lockedMath() {
  instance ??= import('mathjs').then(({ create, all }) => {
    const math = create(all ?? {});
    const parse = math.parse;
    const refuse = (name: string) => () => {
      throw new CadreError('input_invalid', `${name}() is not available in the calculator`);
    };
    const disabled = [
      'import',
      'createUnit',
      'evaluate',
      'parse',
      'compile',
      'simplify',
      'derivative',
      'resolve',
      'reviver',
      'parser',
      'chain',
    ];
    math.import(Object.fromEntries(disabled.map((name) => [name, refuse(name)])), { override: true });
    return { math, parse };
  });
  return instance;
}

const forbiddenNodes = new Set(['AssignmentNode', 'FunctionAssignmentNode', 'BlockNode']);

/** Evaluates an arithmetic expression with a real parser (never eval). */
export async function calculate(expression: string): Promise<string> {
  const { math, parse } = await lockedMath();
  let node;
  try {
    node = parse(expression);
  } catch (error) {
    throw new CadreError('input_invalid', `Cannot parse "${expression}": ${(error as Error).message}`);
  }
  node.traverse((child) => {
    if (forbiddenNodes.has(child.type))
      throw new CadreError('input_invalid', 'Assignments, function definitions and several statements are not allowed');
  });
  let value: unknown;
  try {
    value = node.compile().evaluate({});
  } catch (error) {
    throw CadreError.isInstance(error)
      ? error
      : new CadreError('input_invalid', `Cannot evaluate "${expression}": ${(error as Error).message}`);
  }
  if (typeof value === 'function')
    throw new CadreError('input_invalid', 'The expression names a function instead of computing a value');
  // Plain digits up to 1e15 (mathjs switches to exponents at 1e5 by default, which reads badly in answers).
  return math.format(value, { precision: 14, lowerExp: -9, upperExp: 15 });
}

/** The `calculator` tool: arithmetic, powers, roots, trigonometry, units and constants. */
export function createCalculatorTool(): Tool {
  void lockedMath(); // start loading mathjs now (about half a second), not at the first call
  return defineTool({
    name: 'calculator',
    description:
      'Evaluate an arithmetic expression exactly, e.g. "(17 * 23) + sqrt(1764)", "2^10", "sin(pi / 2)", "5 cm to inch".',
    input: z.object({ expression: z.string().min(1).max(1000).describe('the expression to evaluate') }),
    effects: 'read',
    run: ({ expression }) => calculate(expression),
  });
}
