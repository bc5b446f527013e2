import type { RestLimits } from '../../rest/rest-client.js';

/** Kraken spot public REST limits: about one call per second per IP (docs "Spot REST rate limits"). */
export const krakenRestLimits: RestLimits = {
  bucket: { capacity: 2, refillPerSecond: 1 },
  // Kraken answers 200 with `error: ["EGeneral:Too many requests"]` or `["EAPI:Rate limit exceeded"]`.
  throttledBody(body) {
    const errors = (body as { error?: unknown } | null)?.error;
    return Array.isArray(errors) && errors.some((e) => typeof e === 'string' && /Too many requests|Rate limit/i.test(e)) ? 5000 : undefined;
  },
};
