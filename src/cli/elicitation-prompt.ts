import { createInterface } from 'node:readline/promises';
import pc from 'picocolors';
import type { McpElicitHandler, McpElicitRequest } from '../../tools/index.js';

type ElicitResult = Awaited<ReturnType<McpElicitHandler>>;
type Answer = string | number | boolean | string[];

/** One field of a form question: the primitive kinds MCP elicitation allows. */
interface Field {
  type?: string;
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  /** Labels of `enum`'s values, in the older form some servers still send. */
  enumNames?: string[];
  oneOf?: Array<{ const: string; title?: string }>;
  items?: { enum?: unknown[]; anyOf?: Array<{ const: string; title?: string }> };
  minimum?: number;
  maximum?: number;
}

/** The allowed values of a field with choices: `[value, label]` pairs. */
function choicesOf(field: Field): Array<[string, string]> | undefined {
  const options = field.oneOf ?? field.items?.anyOf;
  if (options) return options.map((o) => [o.const, o.title ?? o.const]);
  const values = field.enum ?? field.items?.enum;
  return values?.map((v, i) => [String(v), field.enumNames?.[i] ?? String(v)]);
}

/** Reads one typed answer; `undefined` for an empty answer (the default, or nothing). */
function parse(field: Field, text: string): { value?: Answer; error?: string } {
  if (text === '') return {};
  const choices = choicesOf(field);
  const pick = (word: string) => {
    const index = Number(word);
    if (choices && Number.isInteger(index) && index >= 1 && index <= choices.length) return choices[index - 1]![0];
    return choices?.find(([value, label]) => value === word || label === word)?.[0];
  };
  if (field.type === 'array') {
    const picked = text.split(',').map((w) => pick(w.trim()));
    return picked.every((p) => p !== undefined) ? { value: picked as string[] } : { error: 'pick from the list' };
  }
  if (choices) {
    const picked = pick(text);
    return picked === undefined ? { error: 'pick from the list' } : { value: picked };
  }
  if (field.type === 'boolean') {
    if (/^y(es)?$|^true$/i.test(text)) return { value: true };
    if (/^no?$|^false$/i.test(text)) return { value: false };
    return { error: 'answer y or n' };
  }
  if (field.type === 'number' || field.type === 'integer') {
    const value = Number(text);
    if (!Number.isFinite(value) || (field.type === 'integer' && !Number.isInteger(value)))
      return { error: `a${field.type === 'integer' ? 'n integer' : ' number'}` };
    if (
      (field.minimum !== undefined && value < field.minimum) ||
      (field.maximum !== undefined && value > field.maximum)
    )
      return { error: `between ${field.minimum ?? '-∞'} and ${field.maximum ?? '∞'}` };
    return { value };
  }
  return { value: text };
}

/**
 * Asks an MCP server's form question at a terminal: the server and its message, then each field
 * (its title, description, choices and default; an empty answer takes the default). Answering `n`
 * to the first question declines; end of input cancels.
 */
export async function askElicitation(
  request: Pick<McpElicitRequest, 'server' | 'params'>,
  io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream },
): Promise<ElicitResult> {
  const { params } = request;
  const prompt = createInterface({ input: io.input, output: io.output, terminal: false });
  const lines = prompt[Symbol.asyncIterator]();
  const ask = async (question: string): Promise<string | undefined> => {
    io.output.write(question);
    const next = await lines.next();
    return next.done ? undefined : next.value.trim();
  };
  try {
    io.output.write(`\n${pc.yellow('question')} from ${pc.bold(request.server)}: ${params.message}\n`);
    if ('url' in params) {
      io.output.write(`  open ${params.url}\n`);
      const done = await ask('Done? [y/N] ');
      if (done === undefined) return { action: 'cancel' };
      return /^y/i.test(done) ? { action: 'accept' } : { action: 'decline' };
    }
    const answer = await ask('Answer it? [Y/n] ');
    if (answer === undefined) return { action: 'cancel' };
    if (/^n/i.test(answer)) return { action: 'decline' };
    const schema = params.requestedSchema as { properties?: Record<string, Field>; required?: string[] };
    const content: Record<string, Answer> = {};
    for (const [name, field] of Object.entries(schema.properties ?? {})) {
      const required = schema.required?.includes(name) ?? false;
      const choices = choicesOf(field);
      if (choices) io.output.write(choices.map(([, label], i) => `    ${i + 1}. ${label}\n`).join(''));
      const fallback = field.default === undefined ? '' : ` [${String(field.default)}]`;
      const hint = field.description ? pc.dim(` (${field.description})`) : '';
      for (;;) {
        const text = await ask(`  ${field.title ?? name}${required ? '*' : ''}${hint}${fallback}: `);
        if (text === undefined) return { action: 'cancel' };
        const { value, error } = parse(field, text);
        if (error) {
          io.output.write(`  ${pc.red(error)}\n`);
          continue;
        }
        const chosen = value ?? (field.default as Answer | undefined);
        if (chosen === undefined && required) {
          io.output.write(`  ${pc.red('an answer is required')}\n`);
          continue;
        }
        if (chosen !== undefined) content[name] = chosen;
        break;
      }
    }
    return { action: 'accept', content };
  } finally {
    prompt.close();
  }
}

/** The CLI's answerer of MCP questions: at the terminal while the progress view holds still; none without a terminal. */
export function terminalElicitor(view: { paused: boolean } | undefined): McpElicitHandler | undefined {
  if (!process.stdin.isTTY) return undefined;
  return async (request) => {
    if (view) view.paused = true;
    try {
      return await askElicitation(request, { input: process.stdin, output: process.stdout });
    } finally {
      if (view) view.paused = false;
    }
  };
}
