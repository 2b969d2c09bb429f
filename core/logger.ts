// One logger for the hub (pino). Sensitive fields are redacted by path so that a careless
// `logger.info({ record })` never prints an ID number, a phone or a secret.
import { pino } from 'pino';

export type Logger = pino.Logger;

const REDACT = [
  'secret', '*.secret', 'password', '*.password', 'apiKey', '*.apiKey', 'authorization', '*.authorization',
  'headers.authorization', 'headers["x-api-key"]', 'req.headers.authorization', 'req.headers["x-api-key"]',
  'idNumber', '*.idNumber', '*.*.idNumber', 'phone', '*.phone', '*.*.phone', 'address', '*.address',
  'birthDate', '*.birthDate', 'email', '*.email', 'value', '*.value', 'pii', '*.pii', 'key', 'masterKey',
];

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'vochub',
    level: options.level ?? process.env.VOCHUB_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
    redact: { paths: REDACT, censor: '[redacted]' },
  });
}

/** A logger that prints nothing: tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
