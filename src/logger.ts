import { destination, pino, type Logger } from 'pino';

export type { Logger };

/** The process logger: JSON lines on stderr (stdout stays free for command output). */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'quoting-collector' } }, destination({ fd: 2, sync: true }));
}

/** A logger that drops everything, for tests and library use without logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
