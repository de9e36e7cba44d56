import { pino, destination, type Logger, type LevelWithSilent } from 'pino';
import { redact, redactText } from './redact.js';

/** pino's logger, which every part of cadre logs through. */
export type { Logger };

const shared = new Map<string, Logger>();

/**
 * cadre's logger: JSON lines on stderr (or `destination`), with secrets redacted by key and by
 * value in every logged object and message; one per name and level, shared.
 */
export function createLogger(
  options: { level?: LevelWithSilent; name?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  const key = `${options.name ?? 'cadre'}\u0000${options.level ?? 'warn'}`;
  const existing = options.destination ? undefined : shared.get(key);
  if (existing) return existing;
  const logger = pino(
    {
      name: options.name ?? 'cadre',
      level: options.level ?? 'warn',
      // Error messages and tool output can carry a token anywhere, not only under a known key.
      formatters: { log: (object) => redact(object) },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((arg: unknown) => (typeof arg === 'string' ? redactText(arg) : arg)) as Parameters<typeof method>,
          );
        },
      },
    },
    options.destination ?? destination(2),
  );
  if (!options.destination) shared.set(key, logger);
  return logger;
}
