import type { RestLimits } from '../../rest/rest-client.js';

// exchangeInfo rateLimits: REQUEST_WEIGHT 6000 per MINUTE per IP (rest-api.md "LIMITS").
const WEIGHT_PER_MINUTE = 6000;

/** Binance spot REST limits: request weight per minute, tracked by the X-MBX-USED-WEIGHT-1M header. */
export const binanceRestLimits: RestLimits = {
  // 90% of the published rate, so a fixed window's edge never tips over it.
  bucket: { capacity: 1200, refillPerSecond: (WEIGHT_PER_MINUTE * 0.9) / 60 },
  remainingFromHeaders(headers) {
    const used = Number(headers['x-mbx-used-weight-1m']);
    return Number.isFinite(used) && headers['x-mbx-used-weight-1m'] !== undefined ? Math.max(0, WEIGHT_PER_MINUTE * 0.9 - used) : undefined;
  },
};
