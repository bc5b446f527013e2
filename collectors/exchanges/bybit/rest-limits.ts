import type { RestLimits } from '../../rest/rest-client.js';

/** Bybit v5 REST limits: 600 requests per 5 s per IP (docs "Rate Limit Rules", IP limit). */
export const bybitRestLimits: RestLimits = {
  // A full bucket plus 5 s of refill fits in 600.
  bucket: { capacity: 100, refillPerSecond: 100 },
  // retCode 10006 "Too many visits!" in a 200 body.
  throttledBody(body) {
    const code = (body as { retCode?: unknown } | null)?.retCode;
    return code === 10006 ? 1000 : undefined;
  },
};
