import type { RestLimits } from '../../rest/rest-client.js';

/** Kraken spot public REST limits: about one call per second per IP (docs "Spot REST rate limits"). */
export const krakenRestLimits: RestLimits = {
  // One at a time, a little slower than one per second, so clock skew never puts two in one second.
  bucket: { capacity: 1, refillPerSecond: 0.9 },
  // Kraken answers 200 with `error: ["EGeneral:Too many requests"]` or `["EAPI:Rate limit exceeded"]`.
  throttledBody(body) {
    const errors = (body as { error?: unknown } | null)?.error;
    return Array.isArray(errors) && errors.some((e) => typeof e === 'string' && /Too many requests|Rate limit/i.test(e)) ? 5000 : undefined;
  },
};
