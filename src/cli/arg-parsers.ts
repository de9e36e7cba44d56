import { InvalidArgumentError } from 'commander';

/** Command-line value parsers shared by every command: each throws commander's usage error. */

/** `1`, `2`, … */
export const positiveInt = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a positive whole number');
  return Number(value);
};

/** `0`, `0.5`, `12`, … */
export const nonNegative = (value: string): number => {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('expected a non-negative number');
  return Number(value);
};

/** A number from 0 to 1. */
export const fraction = (value: string): number => {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) > 1)
    throw new InvalidArgumentError('expected a number from 0 to 1');
  return Number(value);
};

/** Any whole number, negative too. */
export const wholeNumber = (value: string): number => {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
};

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `1500`, `30s`, `15m`, `2h` or `1d`, in ms. */
export const duration = (value: string): number => {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 1500, 30s, 15m, 2h or 1d');
  return Number(match[1]) * units[match[2] ?? 'ms']!;
};

/** A date and time (ISO 8601), in ms since the epoch. */
export const instant = (value: string): number => {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError('expected a date and time, e.g. 2026-12-24T07:00:00Z');
  return ms;
};

/** A JSON object given on the command line, e.g. the answer to an MCP server's question. */
export const jsonObject = (value: string): Record<string, unknown> => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError(`expected a JSON object, e.g. '{"name": "Ana"}'`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidArgumentError(`expected a JSON object, e.g. '{"name": "Ana"}'`);
  return parsed as Record<string, unknown>;
};

/** `key=value`, repeatable: each one adds to the record collected so far. */
export const keyValue = (value: string, previous: Record<string, string> = {}): Record<string, string> => {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('expected key=value, e.g. file=src/a.ts');
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
};
