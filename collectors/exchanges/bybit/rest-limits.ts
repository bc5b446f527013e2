import type { RestLimits } from '../../rest/rest-client.js';

// How long Bybit bans an IP that went over its limit, at least.
const IP_BAN_MS = 10 * 60_000;

/** Bybit v5 REST limits: 600 requests per 5 s per IP (docs "Rate Limit Rules", IP limit). */
export const bybitRestLimits: RestLimits = {
  // A full bucket plus 5 s of refill fits in 600.
  bucket: { capacity: 100, refillPerSecond: 100 },
  // retCode 10006 "Too many visits!" in a 200 body.
  throttledBody(body) {
    const code = (body as { retCode?: unknown } | null)?.retCode;
    return code === 10006 ? 1000 : undefined;
  },
  // Over the per-IP limit: HTTP 403 "access too frequent" — "terminate all HTTP sessions and wait
  // for at least 10 minutes. The ban will be lifted automatically" (docs rate-limit). Other 403s
  // (a region refused) are not waits: they fail as usual.
  throttledStatus(status, body) {
    const text = typeof body === 'string' ? body : JSON.stringify(body ?? '');
    return status === 403 && /too frequent/i.test(text) ? IP_BAN_MS : undefined;
  },
};
