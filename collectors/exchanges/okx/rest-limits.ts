import type { RestLimits } from '../../rest/rest-client.js';

/**
 * OKX v5 public REST limits per IP: market candles 40 requests / 2 s, history-candles and
 * history-trades 20 / 2 s (docs "Rate Limit" of each endpoint). One bucket at the strictest;
 * requests to looser endpoints weigh less.
 */
export const okxRestLimits: RestLimits = {
  // Counted in fixed 2-s windows: a full bucket plus 2 s of refill fits in 20.
  bucket: { capacity: 4, refillPerSecond: 8 },
  // A 200 answer with code 50011 ("Rate limit reached") is OKX's throttle.
  throttledBody(body) {
    const code = (body as { code?: unknown } | null)?.code;
    return code === '50011' || code === 50011 ? 2000 : undefined;
  },
};
