import type { RestLimits } from '../../rest/rest-client.js';

/**
 * Gate API v4 public spot REST limits (docs "Rate Limit", gate.com/docs/developers/apiv4/en/#rate-limit):
 * "Spot: public endpoints 200 requests / 10 s per endpoint" per IP; over it Gate answers HTTP 429
 * with label TOO_MANY_REQUESTS, which the client already waits on. One bucket over every endpoint
 * at one endpoint's limit is stricter than Gate, never looser.
 */
export const gateioRestLimits: RestLimits = {
  // Gate counts in 10-s windows: a full bucket plus 10 s of refill fits in 200.
  bucket: { capacity: 20, refillPerSecond: 18 },
};
