import { destination, pino, type Logger } from 'pino';
import { maskSecrets } from './sanitize.js';

export type { Logger };

/**
 * The process logger: JSON lines on stderr (stdout stays free for command output). Every line
 * is masked as it is written, so no field (a URL, an error, a config echo) can leak a credential.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'quoting-collector' }, hooks: { streamWrite: maskSecrets } }, destination({ fd: 2, sync: true }));
}

/** A logger that drops everything, for tests and library use without logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
