import type { RestLimits } from '../../rest/rest-client.js';

// exchangeInfo rateLimits: REQUEST_WEIGHT 6000 per MINUTE per IP (rest-api.md "LIMITS").
const WEIGHT_PER_MINUTE = 6000;

/** Binance spot REST limits: request weight per minute, tracked by the X-MBX-USED-WEIGHT-1M header. */
export const binanceRestLimits: RestLimits = {
  // Binance counts in fixed minute windows: a full bucket plus a minute of refill must fit in one.
  bucket: { capacity: 600, refillPerSecond: (WEIGHT_PER_MINUTE - 600) / 60 },
  remainingFromHeaders(headers) {
    const used = Number(headers['x-mbx-used-weight-1m']);
    return Number.isFinite(used) && headers['x-mbx-used-weight-1m'] !== undefined ? Math.max(0, WEIGHT_PER_MINUTE - 600 - used) : undefined;
  },
};
