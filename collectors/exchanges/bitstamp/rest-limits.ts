import type { RestLimits } from '../../rest/rest-client.js';

/**
 * Bitstamp REST limits: 400 requests a second per IP and, the tighter one for a steady client,
 * 10,000 requests per 10 minutes (Bitstamp API "Request limits"; no REST documentation is among
 * the fixtures, the figures are the published ones). Over it Bitstamp answers 429, which the
 * client waits out as usual.
 */
export const bitstampRestLimits: RestLimits = {
  // A full bucket plus 10 minutes of refill: 50 + 15 × 600 = 9,050, inside the 10,000.
  bucket: { capacity: 50, refillPerSecond: 15 },
};
