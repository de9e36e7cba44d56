/**
 * Writes docs/configuration.md from the zod `ConfigSchema`: every key with its environment
 * variable, type, default and description, so the reference cannot drift from the code.
 * test/docs.test.ts fails when the committed file differs from what this prints.
 *
 *   npm run docs:config
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigSchema } from '../src/core/config.js';

/** One row of the reference. */
export interface ConfigField {
  key: string;
  /** Variables that set the field, the well-known one first; empty when only the file or code can. */
  env: string[];
  type: string;
  default: string;
  description: string;
}

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  items?: JsonSchema;
  format?: string;
  default?: unknown;
  description?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
}

const configSource = fileURLToPath(new URL('../src/core/config.ts', import.meta.url));
const target = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

/** `maxSteps` → `CADRE_MAX_STEPS`, as `loadConfig` reads them (the docs test checks each one). */
const cadreVariable = (key: string) => `CADRE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** The variables users already have set (OLLAMA_HOST, OPENAI_API_KEY, …), read from config.ts's own table. */
function wellKnownVariables(): Map<string, string> {
  const table = /const wellKnownEnv[^{]*\{([^}]*)\}/.exec(readFileSync(configSource, 'utf8'))?.[1] ?? '';
  return new Map([...table.matchAll(/([A-Z_]+):\s*'(\w+)'/g)].map((m) => [m[2]!, m[1]!]));
}

const code = (value: unknown) => `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map(code).join(', ');
  if (s.type === 'array') {
    const items = s.items ?? {};
    return items.type || items.enum
      ? `list of ${items.enum ? items.enum.map(code).join(', ') : `${items.type}s`}`
      : 'array';
  }
  if (s.type === 'integer' || s.type === 'number') {
    const low = s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : s.minimum;
    const high = s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined;
    if (low !== undefined && high !== undefined) return `${s.type} ${low}–${high}`;
    if (s.exclusiveMinimum !== undefined) return `${s.type} > ${s.exclusiveMinimum}`;
    if (low !== undefined) return `${s.type} ≥ ${low}`;
    return s.type;
  }
  if (s.type === 'string' && s.format === 'uri') return 'URL';
  return s.type ?? 'any';
}

/** Only scalars and comma-separated lists come from a variable; objects and pools need the file or code. */
const settableByVariable = (s: JsonSchema) =>
  s.type !== 'object' && (s.type !== 'array' || s.items?.type === 'string' || s.items?.enum !== undefined);

function defaultOf(s: JsonSchema): string {
  if (s.default === undefined) return 'unset';
  if (Array.isArray(s.default)) return s.default.length ? code(s.default.join(',')) : 'none';
  return code(s.default);
}

/** The fields of `ConfigSchema`, in the schema's order. */
export function configFields(): ConfigField[] {
  const schema = z.toJSONSchema(ConfigSchema, { io: 'output', unrepresentable: 'any' }) as {
    properties: Record<string, JsonSchema>;
  };
  const wellKnown = wellKnownVariables();
  return Object.entries(schema.properties).map(([key, s]) => {
    const known = wellKnown.get(key);
    return {
      key,
      env: settableByVariable(s) ? [...(known ? [known] : []), cadreVariable(key)] : [],
      type: typeOf(s),
      default: defaultOf(s),
      description: s.description ?? '',
    };
  });
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The text of docs/configuration.md. */
export function configReference(): string {
  const rows = configFields().map((f) =>
    [code(f.key), f.env.length ? f.env.map(code).join(', ') : 'file or code', f.type, f.default, f.description]
      .map(cell)
      .join(' | '),
  );
  return `# Configuration reference

<!-- Generated from ConfigSchema in src/core/config.ts by \`npm run docs:config\`; do not edit by hand. -->

Every setting has a default or may be left unset. Options passed in code (\`run({ config })\`) win over
environment variables, which win over \`cadre.config.json\` in the working folder (or the file
\`CADRE_CONFIG\` names), which wins over the defaults. An unknown key or a bad value is a
\`config_invalid\` error naming the field and where its value came from (option, variable or file).

Lists are comma-separated in a variable (\`CADRE_MODEL_ORDER=ollama,openai\`) and JSON arrays in the
file; booleans accept \`true\`, \`1\`, \`yes\` or \`on\`. Where a key has two variables, the \`CADRE_*\` one
wins when both are set. \`models\`, \`routing\`, \`mcpServers\` and \`toolPolicy\` are objects: set them in
the file or in code (see [providers](providers.md) and [tools](tools.md)).

| key | variable | type | default | description |
|---|---|---|---|---|
${rows.map((r) => `| ${r} |`).join('\n')}
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(target, configReference());
  process.stdout.write(`wrote ${target}\n`);
}
