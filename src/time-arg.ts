import { parseDuration } from '../common/duration.js';

const RELATIVE = /^(now)?\s*([+-])\s*(\d+(?:\.\d+)?(?:ms|s|m|h|d|w))$/;

/**
 * Parses a time given on the command line: ms since the epoch (`1700000000000`),
 * ISO-8601 (`2024-05-01T00:00:00Z`), `now`, or relative to now (`-1h`, `now-15m`).
 */
export function parseTimeArg(text: string, now = Date.now()): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  if (t === 'now') return now;
  const rel = RELATIVE.exec(t);
  if (rel) return now + (rel[2] === '-' ? -1 : 1) * parseDuration(rel[3]!);
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new Error(
    `bad time ${JSON.stringify(text)}: expected ms since the epoch, ISO-8601 (2024-05-01T00:00:00Z), now, or relative (-1h, now-15m)`,
  );
}
