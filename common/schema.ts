import { z } from 'zod';
import { parseDuration } from './duration.js';

/** A duration in config (`60s`, `1m`, `30d`, or ms as a number), parsed to milliseconds. */
export const durationMs = z.union([z.string(), z.number()]).transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** A kline/candle interval name as used in keys: `1m`, `5m`, `1h`, `1d`. */
export const intervalName = z.string().regex(/^\d+(s|m|h|d|w)$/, 'expected an interval like 1m, 5m, 1h, 1d');
