import { z } from 'zod';
import { CadreError } from '../../src/core/index.js';
import { defineTool, type Tool } from '../define-tool.js';

/** `current_time`: the time now, in ISO form and in a time zone if asked. */
export function createCurrentTimeTool(options: { now?: () => Date } = {}): Tool {
  const now = options.now ?? (() => new Date());
  return defineTool({
    name: 'current_time',
    description: 'The current date and time, optionally in an IANA time zone such as "Europe/Paris" or "UTC".',
    input: z.object({ timeZone: z.string().min(1).max(64).optional() }),
    effects: 'read',
    run: ({ timeZone }) => {
      const date = now();
      if (!timeZone) return date.toISOString();
      try {
        const local = new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'full', timeStyle: 'long' }).format(date);
        return `${date.toISOString()} (${local})`;
      } catch {
        throw new CadreError('input_invalid', `Unknown time zone "${timeZone}"`);
      }
    },
  });
}
