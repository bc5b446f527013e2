import type { MergePolicy } from './types.js';

/** Combines a new field value with the one already stored at the same millisecond. */
export function mergeValue(policy: MergePolicy, existing: number, incoming: number): number {
  switch (policy) {
    case 'last': return incoming;
    case 'first': return existing;
    case 'min': return Math.min(existing, incoming);
    case 'max': return Math.max(existing, incoming);
    case 'sum': return existing + incoming;
  }
}
