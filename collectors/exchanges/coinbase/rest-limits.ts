import type { RestLimits } from '../../rest/rest-client.js';

/** Coinbase Exchange public REST limits: 10 requests/s per IP, bursts to 15 (docs "Rate Limits"). */
export const coinbaseRestLimits: RestLimits = {
  // A full bucket plus a second of refill fits in 10 (bursts to 15 are left as headroom).
  bucket: { capacity: 3, refillPerSecond: 7 },
};
