import { pino, destination, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Creates cadre's logger: JSON lines on stderr, secrets redacted by key. */
export function createLogger(options: { level?: LevelWithSilent; name?: string } = {}): Logger {
  return pino(
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
}
