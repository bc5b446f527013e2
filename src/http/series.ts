import type { Aggregation, DataCollectionStorage, Sample } from '../../storage/types.js';
import type { Route } from './types.js';

/** One row of a chart: the bucket's start (ms), then one value per column (null where the bucket has none). */
export type ChartRow = [timestamp: number, ...values: Array<number | null>];

/** What `GET /series` answers: a series' recent values as the status page charts them. */
export interface SeriesChart {
  key: string;
  kind: string;
  bucketMs: number;
  from: number;
  to: number;
  columns: string[];
  rows: ChartRow[];
}

/** How one kind of series is charted: its columns and the bucketed reads that fill them. */
interface ChartSpec {
  columns: string[];
  read(storage: DataCollectionStorage, key: string, from: number, to: number, bucketMs: number): Promise<ChartRow[]>;
}

const MINUTE_MS = 60_000;
/** Buckets shorter than this are noise on a small chart and cost the backend more. */
const MIN_BUCKET_MS = 1_000;
/** At most this many buckets in one answer: a chart a few hundred pixels wide shows no more. */
const MAX_BUCKETS = 5_000;

const field = (value: Sample[1], name: string): number | null => (typeof value === 'number' ? value : (value[name] ?? null));

/** Reads `key` bucketed with `aggregation` and maps each bucket to one column's value. */
async function bucketed(storage: DataCollectionStorage, key: string, from: number, to: number, bucketMs: number, aggregation: Aggregation, pick: (value: Sample[1], t: number) => number | null): Promise<Map<number, number | null>> {
  const samples = await storage.fetch(key, from, to, { bucketMs, aggregation });
  return new Map(samples.map(([t, value]) => [t, pick(value, t)]));
}

/** Joins columns read separately on their bucket timestamps. */
function join(columns: Array<Map<number, number | null>>): ChartRow[] {
  const times = [...new Set(columns.flatMap((c) => [...c.keys()]))].sort((a, b) => a - b);
  return times.map((t): ChartRow => [t, ...columns.map((c) => c.get(t) ?? null)]);
}

/** The last value of each field in each bucket: levels (a price, a spread), not flows. */
function levels(columns: Record<string, (value: Sample[1]) => number | null>): ChartSpec {
  return {
    columns: Object.keys(columns),
    async read(storage, key, from, to, bucketMs) {
      const samples = await storage.fetch(key, from, to, { bucketMs, aggregation: 'last' });
      return samples.map(([t, value]): ChartRow => [t, ...Object.values(columns).map((pick) => pick(value))]);
    },
  };
}

/** By series kind (the key's first part): what its chart shows. */
export const CHARTS: Readonly<Record<string, ChartSpec>> = {
  trades: {
    columns: ['price', 'volume/min'],
    async read(storage, key, from, to, bucketMs) {
      // A bucket still filling (the newest) is scaled by the time it has covered, not its full length.
      const perMinute = (amount: number | null, t: number) => (amount === null ? null : (amount * MINUTE_MS) / Math.max(MIN_BUCKET_MS, Math.min(bucketMs, Date.now() - t)));
      return join([
        await bucketed(storage, key, from, to, bucketMs, 'last', (v) => field(v, 'price')),
        await bucketed(storage, key, from, to, bucketMs, 'sum', (v, t) => perMinute(field(v, 'amount'), t)),
      ]);
    },
  },
  liquidity: levels({
    'spread bps': (v) => field(v, 'spread_bps'),
    // Both sides within 50 bps of the mid, in the quote currency.
    'depth ±50bps': (v) => {
      const bid = field(v, 'bid_depth_50bps');
      const ask = field(v, 'ask_depth_50bps');
      return bid === null || ask === null ? null : bid + ask;
    },
  }),
  klines: levels({ close: (v) => field(v, 'close') }),
  candles: levels({ close: (v) => field(v, 'close') }),
};

/** A 400 answer: the request named something wrong. */
class BadRequest extends Error {}

function integerParam(query: URLSearchParams, name: string, fallback?: number): number {
  const text = query.get(name);
  if (text === null || text === '') {
    if (fallback === undefined) throw new BadRequest(`${name}: required (ms since the epoch)`);
    return fallback;
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new BadRequest(`${name}: expected a whole number of ms ≥ 0, got ${JSON.stringify(text)}`);
  return value;
}

/** A series' chart from `from` (aligned down to its bucket) to `to`, read through the storage interface. */
export async function seriesChart(storage: DataCollectionStorage, query: URLSearchParams, now = Date.now()): Promise<SeriesChart> {
  const key = query.get('key') ?? '';
  if (key === '') throw new BadRequest('key: required, e.g. trades:binance:BTC-USDT');
  const kind = key.split(':')[0]!;
  const spec = CHARTS[kind];
  if (!spec) throw new BadRequest(`key: no chart for ${kind} series; charted: ${Object.keys(CHARTS).join(', ')}`);
  const bucketMs = integerParam(query, 'bucket', 5_000);
  if (bucketMs < MIN_BUCKET_MS) throw new BadRequest(`bucket: at least ${MIN_BUCKET_MS} ms, got ${bucketMs}`);
  const to = integerParam(query, 'to', now);
  const requested = integerParam(query, 'from');
  const from = requested - (requested % bucketMs);
  if (from > to) throw new BadRequest(`from: ${requested} is after to ${to}`);
  if ((to - from) / bucketMs > MAX_BUCKETS) throw new BadRequest(`from: at most ${MAX_BUCKETS} buckets of ${bucketMs} ms, asked for ${Math.ceil((to - from) / bucketMs)}`);
  return { key, kind, bucketMs, from, to, columns: spec.columns, rows: await spec.read(storage, key, from, to, bucketMs) };
}

/** `GET /series?key=K&from=MS[&to=MS][&bucket=MS]`: what the status page's charts poll. */
export function seriesRoutes(storage: DataCollectionStorage): Route[] {
  return [
    {
      method: 'GET',
      path: '/series',
      async handle({ query, send }) {
        try {
          send(200, await seriesChart(storage, query));
        } catch (err) {
          if (err instanceof BadRequest) return send(400, { error: err.message });
          throw err;
        }
      },
    },
  ];
}
