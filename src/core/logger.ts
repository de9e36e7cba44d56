import { pino, destination, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

const shared = new Map<string, Logger>();

/** cadre's logger: JSON lines on stderr, secrets redacted by key; one per name and level, shared. */
export function createLogger(options: { level?: LevelWithSilent; name?: string } = {}): Logger {
  const key = `${options.name ?? 'cadre'}\u0000${options.level ?? 'warn'}`;
  const existing = shared.get(key);
  if (existing) return existing;
  const logger = pino(
    {
      name: options.name ?? 'cadre',
      level: options.level ?? 'warn',
      redact: {
        paths: ['apiKey', '*.apiKey', 'headers.authorization', '*.headers.authorization', 'password', '*.password'],
        censor: '[redacted]',
      },
    },
    destination(2),
  );
  shared.set(key, logger);
  return logger;
}
