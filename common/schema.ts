import { z } from 'zod';
import { DURATION, MAX_TIMER_MS, NONZERO_DURATION, parseDuration } from './duration.js';

const AT_MOST_TIMER = 'expected at most 24d (a longer timer fires at once)';
const UNITS_HINT = 'expected a number and a unit (ms, s, m, h, d, w), e.g. 60s, 1m, 8h, 30d';

/**
 * A duration in config: text (`60s`, `1m`, `30d`) or ms as a number, parsed to milliseconds.
 * The accepted input is spelled as schemas (not only checked in the transform) so the JSON
 * Schema generated from the config schema describes it too.
 */
function duration(limits: { positive: boolean; max?: number }) {
  const least = limits.positive ? 'more than 0' : 'at least 0';
  const text = z.string().regex(limits.positive ? NONZERO_DURATION : DURATION, {
    error: (iss) =>
      `bad duration ${JSON.stringify(iss.input)}: ${DURATION.test(String(iss.input)) ? `expected ${least}` : UNITS_HINT}`,
  });
  const tooSmall = { error: (iss: { input?: unknown }) => `bad duration ${String(iss.input)}: expected ${least}` };
  let ms = limits.positive ? z.number().positive(tooSmall) : z.number().nonnegative(tooSmall);
  if (limits.max !== undefined) ms = ms.max(limits.max, { error: (iss) => `bad duration ${String(iss.input)}: ${AT_MOST_TIMER}` });
  return z
    .union([text, ms])
    .transform((input, ctx) => {
      const out = parseDuration(input);
      // What the patterns cannot say: `0.1ms` rounds to 0, `30d` is past a timer's reach.
      if (limits.positive && out <= 0) ctx.addIssue({ code: 'custom', message: `bad duration ${JSON.stringify(input)}: expected ${least}` });
      if (limits.max !== undefined && out > limits.max) {
        ctx.addIssue({ code: 'custom', message: `bad duration ${JSON.stringify(input)}: ${AT_MOST_TIMER}` });
      }
      return out;
    })
    .describe(`A duration: 60s, 1m, 8h, 30d (ms, s, m, h, d, w) or a number of ms; ${least}${limits.max ? ', at most 24d' : ''}`);
}

/** A duration ≥ 0, e.g. how far back to backfill: 0 is meaningful. */
export const durationMs = duration({ positive: false });

/** A duration > 0: a window, an age, a silence limit, where 0 would make no sense. */
export const positiveDurationMs = duration({ positive: true });

/** A delay a timer waits for: > 0 and at most ~24.8 days (a longer timer fires at once). */
export const timerDurationMs = duration({ positive: true, max: MAX_TIMER_MS });

/** A kline/candle interval name as used in keys: `1m`, `5m`, `1h`, `1d`. */
export const intervalName = z.string().regex(/^\d+(s|m|h|d|w)$/, 'expected an interval like 1m, 5m, 1h, 1d');
