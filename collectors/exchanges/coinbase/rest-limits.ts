import type { RestLimits } from '../../rest/rest-client.js';

/** Coinbase Exchange public REST limits: 10 requests/s per IP, bursts to 15 (docs "Rate Limits"). */
export const coinbaseRestLimits: RestLimits = {
  bucket: { capacity: 10, refillPerSecond: 9 },
};
