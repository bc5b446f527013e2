const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** Duration text: a number and a unit, spaces around allowed. */
export const DURATION = /^\s*(\d+(?:\.\d+)?)(ms|s|m|h|d|w)\s*$/;
/** Duration text whose number is not zero (`0s`, `0.0m` do not match). */
export const NONZERO_DURATION = /^\s*(?=[\d.]*[1-9])(\d+(?:\.\d+)?)(ms|s|m|h|d|w)\s*$/;
/** The longest delay a Node timer keeps (~24.8 days): a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Parses `250ms`, `60s`, `1m`, `8h`, `30d`, `2w` (or a plain number of ms) into milliseconds. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (Number.isFinite(text) && text >= 0) return Math.round(text);
    throw new Error(`bad duration ${text}: expected a non-negative number of ms or text like 60s, 1m, 8h, 30d`);
  }
  const m = DURATION.exec(text);
  if (!m) throw new Error(`bad duration ${JSON.stringify(text)}: expected a number and a unit (ms, s, m, h, d, w), e.g. 60s, 1m, 8h, 30d`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/** Formats milliseconds compactly: 90000 → `1m30s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.slice(0, 2).join('');
}
