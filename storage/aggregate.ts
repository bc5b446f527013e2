import type { Aggregation, Sample } from './types.js';
import { fromFields } from './validation.js';

type FieldAccumulator = { first: number; last: number; min: number; max: number; sum: number; count: number };

function finish(acc: FieldAccumulator, aggregation: Aggregation): number {
  switch (aggregation) {
    case 'avg': return acc.sum / acc.count;
    default: return acc[aggregation];
  }
}

/**
 * Buckets ascending samples into `bucketMs` windows aligned to the epoch (the Redis
 * TimeSeries `TS.RANGE ... AGGREGATION` rule); each field is aggregated on its own and
 * empty buckets are left out. Backends without a native bucketed read use this.
 */
export function aggregateSamples(samples: readonly Sample[], bucketMs: number, aggregation: Aggregation): Sample[] {
  const out: Sample[] = [];
  let bucket = -1;
  let fields = new Map<string, FieldAccumulator>();
  const emit = () => {
    if (bucket < 0) return;
    const value: Record<string, number> = {};
    for (const [name, acc] of fields) value[name] = finish(acc, aggregation);
    out.push([bucket, fromFields(value)]);
  };
  for (const [t, v] of samples) {
    const b = t - (t % bucketMs);
    if (b !== bucket) {
      emit();
      bucket = b;
      fields = new Map();
    }
    const record = typeof v === 'number' ? { value: v } : v;
    for (const [name, x] of Object.entries(record)) {
      const acc = fields.get(name);
      if (!acc) fields.set(name, { first: x, last: x, min: x, max: x, sum: x, count: 1 });
      else {
        acc.last = x;
        if (x < acc.min) acc.min = x;
        if (x > acc.max) acc.max = x;
        acc.sum += x;
        acc.count += 1;
      }
    }
  }
  emit();
  return out;
}
