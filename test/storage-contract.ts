/**
 * The DataCollectionStorage contract (shared/STORAGE-CONTRACT.md) as one vitest suite that
 * every backend runs: `storageContract('sqlite', async () => ({ storage, openReader, ... }))`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChildWriter, childFetch, crashWrites, type StorageSpec } from './support/storage-child.js';
import { updateCollectorState } from '../storage/collector-state.js';
import { StorageClosedError, StorageError } from '../storage/errors.js';
import type { Aggregation, CheckpointUpdate, DataCollectionStorage, MergePolicy, Point, Sample, SampleValue } from '../storage/types.js';

/** What a backend under test hands the suite; one harness is opened per test. */
export interface ContractHarness {
  /** A fresh, empty storage. */
  storage: DataCollectionStorage;
  /** Opens a second, independent handle on the same data (another connection); omit when none can exist. */
  openReader?: () => Promise<DataCollectionStorage>;
  /** How a separate OS process opens the same data (test/support/storage-child.js); omit when none can. */
  childSpec?: StorageSpec;
  /** Removes whatever the harness created (files, keys); called after the storage is closed. */
  cleanup?: () => Promise<void>;
  /** Opens a second writer on the same data whose link can lose a reply; omit when the backend cannot. */
  lossyLink?: () => Promise<LossyLink>;
}

/**
 * A writer whose connection loses one reply on demand: the request is applied, its reply never
 * arrives and the connection drops, so the writer cannot know whether it was applied.
 */
export interface LossyLink {
  storage: DataCollectionStorage;
  /** The next request's reply is lost and its connection cut. */
  loseNextReply(): void;
  /** How many connections were cut so far. */
  cuts(): number;
  /** Closes the storage and the link. */
  close(): Promise<void>;
}

const MAX_TS = Number.MAX_SAFE_INTEGER;
const POLICIES: MergePolicy[] = ['last', 'first', 'min', 'max', 'sum'];

/** Values whose bits must survive a round trip. */
const FLOATS: ReadonlyArray<[string, number]> = [
  ['0.1 + 0.2', 0.1 + 0.2],
  ['smallest subnormal', 5e-324],
  ['largest double', 1.7976931348623157e308],
  ['most negative double', -1.7976931348623157e308],
  ['negative zero', -0],
  ['1e21', 1e21],
  ['123456789.12345678', 123456789.12345678],
  ['2^53 - 1', MAX_TS],
  ['-(2^53 - 1)', -MAX_TS],
  ['1/3', 1 / 3],
  ['smallest normal', 2.2250738585072014e-308],
  ['0', 0],
];

/** Resolves to the rejection reason, failing the test when the promise resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) expect.fail(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return outcome.error as Error;
}

/** Expects a StorageError whose message names `key` (control characters may appear escaped, as in JSON). */
async function expectRejectedNaming(promise: Promise<unknown>, key: unknown): Promise<void> {
  const err = await rejectionOf(promise);
  expect(err).toBeInstanceOf(StorageError);
  const named = [String(key), typeof key === 'string' ? JSON.stringify(key).slice(1, -1) : String(key)];
  expect(named.some((k) => err.message.includes(k)), `${err.message} should name ${JSON.stringify(key)}`).toBe(true);
}

/** Registers the contract suite for one backend. */
export function storageContract(name: string, open: () => Promise<ContractHarness>): void {
  describe(`storage contract: ${name}`, () => {
    let harness: ContractHarness;
    let s: DataCollectionStorage;
    const readers: DataCollectionStorage[] = [];

    beforeEach(async () => {
      harness = await open();
      s = harness.storage;
    });
    afterEach(async () => {
      for (const r of readers.splice(0)) await r.close().catch(() => undefined);
      await s.close().catch(() => undefined);
      await harness.cleanup?.();
    });

    const all = (key: string, storage = s) => storage.fetch(key, 0, MAX_TS);
    const reader = async () => {
      const r = await harness.openReader!();
      readers.push(r);
      return r;
    };

    describe('fetch', () => {
      it('returns samples ascending with both bounds inclusive', async () => {
        const key = 'trades:test:BTC-USDT';
        await s.store(key, 3, 30);
        await s.store(key, 1, 10);
        await s.store(key, 2, 20);
        expect(await s.fetch(key, 10, 30)).toEqual([[10, 1], [20, 2], [30, 3]]);
        expect(await s.fetch(key, 11, 29)).toEqual([[20, 2]]);
        expect(await s.fetch(key, 20, 20)).toEqual([[20, 2]]);
        expect(await s.fetch(key, 0, 10)).toEqual([[10, 1]]);
        expect(await s.fetch(key, 30, 1000)).toEqual([[30, 3]]);
        expect(await s.fetch(key, 0, 9)).toEqual([]);
        expect(await s.fetch(key, 31, MAX_TS)).toEqual([]);
      });

      it('gives [] for a key that has no samples', async () => {
        await s.store('trades:test:BTC-USDT', 1, 10);
        expect(await s.fetch('trades:test:ETH-USDT', 0, MAX_TS)).toEqual([]);
        expect(await s.fetch('never:written', 0, 0)).toEqual([]);
      });

      it('orders out-of-order writes, across store, storeMany and flush', async () => {
        const key = 'klines:test:BTC-USDT:1m';
        await s.store(key, 50, 50);
        await s.flush();
        await s.store(key, 10, 10);
        await s.storeMany([40, 20, 30, 5].map((t) => ({ key, value: t, timestamp: t })));
        const got = await all(key);
        expect(got.map(([t]) => t)).toEqual([5, 10, 20, 30, 40, 50]);
        expect(got.every(([t, v]) => t === v)).toBe(true);
      });

      it('accepts the extreme timestamps 0 and 2^53 - 1', async () => {
        await s.store('edge:ts', 1, 0);
        await s.store('edge:ts', 2, MAX_TS);
        expect(await all('edge:ts')).toEqual([[0, 1], [MAX_TS, 2]]);
        expect(await s.fetch('edge:ts', MAX_TS, MAX_TS)).toEqual([[MAX_TS, 2]]);
      });

      it('rejects bad ranges with an error naming the key', async () => {
        const key = 'trades:test:BTC-USDT';
        await s.store(key, 1, 10);
        const bad: Array<[unknown, unknown]> = [[20, 10], [1.5, 10], [0, 10.5], [-1, 10], [0, -1], [NaN, 10], [0, NaN], ['0', 10], [0, '10'], [0, 2 ** 53], [0, Infinity]];
        for (const [start, end] of bad) await expectRejectedNaming(s.fetch(key, start as number, end as number), key);
      });

      it('rejects a bad key in fetch', async () => {
        await expectRejectedNaming(s.fetch('bad key', 0, 10), 'bad key');
        await expectRejectedNaming(s.fetch('', 0, 10), '');
      });
    });

    describe('values', () => {
      it('round-trips float64 numbers bit for bit, as scalars and as record fields', async () => {
        const points: Point[] = FLOATS.flatMap(([, x], i) => [
          { key: 'float:scalar', value: x, timestamp: i },
          { key: 'float:record', value: { x, neg: -x }, timestamp: i },
        ]);
        await s.store('float:one', 0.1 + 0.2, 1);
        expect((await s.storeMany(points)).rejected).toEqual([]);
        const check = async (storage: DataCollectionStorage) => {
          expect((await all('float:one', storage))[0]![1]).toBe(0.30000000000000004);
          const scalars = await all('float:scalar', storage);
          const records = await all('float:record', storage);
          FLOATS.forEach(([label, x], i) => {
            // toBe is Object.is: it tells -0 from 0 and compares every bit of a double.
            expect(scalars[i], label).toEqual([i, expect.anything()]);
            expect(scalars[i]![1], label).toBe(x);
            const r = records[i]![1] as Record<string, number>;
            expect(r.x, label).toBe(x);
            expect(r.neg, label).toBe(-x);
          });
        };
        await check(s);
        await s.flush();
        await check(s);
        if (harness.openReader) await check(await reader());
      });

      it('returns a number for a scalar series and a record for a record series', async () => {
        await s.store('scalar:s', 42.5, 1);
        await s.store('record:r', { open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 }, 1);
        // A record whose only field is `value` is a scalar; `value` beside other fields is a record.
        await s.store('scalar:v', { value: 7 }, 1);
        await s.store('record:v', { value: 7, side: 1 }, 1);
        expect(await all('scalar:s')).toEqual([[1, 42.5]]);
        expect(await all('record:r')).toEqual([[1, { open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 }]]);
        expect(await all('scalar:v')).toEqual([[1, 7]]);
        expect(await all('record:v')).toEqual([[1, { value: 7, side: 1 }]]);
        expect(typeof (await all('scalar:s'))[0]![1]).toBe('number');
      });

      it('returns each record with the fields present at its timestamp', async () => {
        const key = 'record:partial';
        await s.store(key, { a: 1 }, 10);
        await s.store(key, { a: 2, b: 3 }, 20);
        await s.store(key, { b: 4 }, 30);
        expect(await all(key)).toEqual([[10, { a: 1 }], [20, { a: 2, b: 3 }], [30, { b: 4 }]]);
      });

      it('keeps its own copy of a record: mutating it afterwards changes nothing stored', async () => {
        const value = { a: 1 };
        await s.store('record:mut', value, 10);
        value.a = 99;
        await s.flush();
        expect(await all('record:mut')).toEqual([[10, { a: 1 }]]);
      });

      it('rejects a record for a scalar series and a number for a record series, naming the key', async () => {
        await s.store('mix:scalar', 1, 1);
        await s.store('mix:record', { a: 1 }, 1);
        await expectRejectedNaming(s.store('mix:scalar', { a: 1 }, 2), 'mix:scalar');
        await expectRejectedNaming(s.store('mix:record', 2, 2), 'mix:record');
        expect(await all('mix:scalar')).toEqual([[1, 1]]);
        expect(await all('mix:record')).toEqual([[1, { a: 1 }]]);
      });

      it('treats a field named like an Object.prototype member as an ordinary field', async () => {
        await s.declare({ key: 'proto:declared', fields: { open: 'last' } });
        await expectRejectedNaming(s.store('proto:declared', { constructor: 1 }, 1), 'proto:declared');
        const fields = Object.fromEntries([['constructor', 'sum'], ['open', 'first']]) as Record<string, MergePolicy>;
        await s.declare({ key: 'proto:sum', fields });
        await s.store('proto:sum', { open: 1 }, 1);
        await s.store('proto:sum', { constructor: 2 }, 1);
        await s.store('proto:sum', { constructor: 3, open: 9 }, 1);
        expect(await all('proto:sum')).toEqual([[1, { open: 1, constructor: 5 }]]);
      });
    });

    describe('merging samples at the same millisecond', () => {
      const expected: Record<MergePolicy, number> = { last: 8, first: 5, min: 3, max: 8, sum: 16 };
      for (const policy of POLICIES) {
        it(`merges a scalar with policy ${policy}, within a batch and across flushes`, async () => {
          const key = `merge:${policy}`;
          await s.declare({ key, fields: { value: policy } });
          await s.store(key, 5, 100);
          await s.flush();
          await s.storeMany([{ key, value: 3, timestamp: 100 }, { key, value: 8, timestamp: 100 }]);
          await s.store(key, 1, 101);
          expect(await all(key)).toEqual([[100, expected[policy]], [101, 1]]);
        });
      }

      it('merges a record field by field, each with its own policy', async () => {
        const key = 'merge:record';
        await s.declare({ key, fields: { l: 'last', f: 'first', mn: 'min', mx: 'max', s: 'sum' } });
        await s.store(key, { l: 1, f: 1, mn: 5, mx: 5, s: 1 }, 7);
        await s.flush();
        await s.storeMany([
          { key, value: { l: 2, f: 2, mn: 3, mx: 3, s: 2 }, timestamp: 7 },
          { key, value: { l: 3, mx: 7, s: 0.5 }, timestamp: 7 }, // a partial record leaves the other fields alone
        ]);
        await s.store(key, { f: 9, mn: 4 }, 7);
        expect(await all(key)).toEqual([[7, { l: 3, f: 1, mn: 3, mx: 7, s: 3.5 }]]);
      });

      it('uses last for every field of an undeclared series', async () => {
        await s.store('merge:undeclared', { a: 1, b: 1 }, 5);
        await s.store('merge:undeclared', { a: 2 }, 5);
        await s.store('merge:scalar', 1, 5);
        await s.store('merge:scalar', 2, 5);
        expect(await all('merge:undeclared')).toEqual([[5, { a: 2, b: 1 }]]);
        expect(await all('merge:scalar')).toEqual([[5, 2]]);
      });

      for (const policy of ['last', 'first', 'min', 'max'] as const) {
        it(`is idempotent for ${policy}: re-sending a sample changes nothing`, async () => {
          const key = `idem:${policy}`;
          await s.declare({ key, fields: { price: policy, qty: policy } });
          const points: Point[] = [
            { key, value: { price: 100.5, qty: 2 }, timestamp: 1 },
            { key, value: { price: 101.25, qty: 0.1 + 0.2 }, timestamp: 2 },
          ];
          await s.storeMany(points);
          const before = await all(key);
          await s.storeMany(points);
          await s.flush();
          await s.storeMany([...points, ...points]);
          expect(await all(key)).toEqual(before);
          expect(before).toEqual([[1, { price: 100.5, qty: 2 }], [2, { price: 101.25, qty: 0.30000000000000004 }]]);
        });
      }

      it('accumulates sum: re-sent samples count again, in float64', async () => {
        const key = 'trades:test:sum';
        await s.declare({ key, fields: { amount: 'sum', count: 'sum', price: 'last' } });
        await s.store(key, { amount: 0.1, count: 1, price: 10 }, 1);
        await s.store(key, { amount: 0.2, count: 1, price: 11 }, 1);
        expect(await all(key)).toEqual([[1, { amount: 0.30000000000000004, count: 2, price: 11 }]]);
        await s.flush();
        await s.store(key, { amount: 0.2, count: 1, price: 11 }, 1);
        expect(await all(key)).toEqual([[1, { amount: 0.30000000000000004 + 0.2, count: 3, price: 11 }]]);
      });
    });

    describe('declarations', () => {
      it('lists declared fields, retention and labels in keys(), with counts and first/last', async () => {
        const labels = { kind: 'trades', exchange: 'binance', symbol: 'BTC-USDT' };
        await s.declare({ key: 'trades:binance:BTC-USDT', fields: { amount: 'sum', price: 'last' }, retentionMs: 60_000, labels });
        await s.declare({ key: 'declared:empty', fields: { value: 'max' } });
        await s.store('trades:binance:BTC-USDT', { amount: 1, price: 2 }, 1000);
        await s.store('trades:binance:BTC-USDT', { amount: 1 }, 1000);
        await s.store('trades:binance:BTC-USDT', { amount: 1, price: 3 }, 2000);
        await s.store('undeclared:x', 5, 7);
        const keys = await s.keys();
        const byKey = Object.fromEntries(keys.map((k) => [k.key, k]));
        expect(Object.keys(byKey).sort()).toEqual(['declared:empty', 'trades:binance:BTC-USDT', 'undeclared:x']);
        expect(byKey['trades:binance:BTC-USDT']).toEqual({
          key: 'trades:binance:BTC-USDT',
          fields: { amount: 'sum', price: 'last' },
          retentionMs: 60_000,
          labels,
          count: 2,
          first: 1000,
          last: 2000,
        });
        expect(byKey['undeclared:x']).toEqual({ key: 'undeclared:x', fields: { value: 'last' }, retentionMs: 0, labels: {}, count: 1, first: 7, last: 7 });
        expect(byKey['declared:empty']).toMatchObject({ fields: { value: 'max' }, count: 0, first: null, last: null });
      });

      it('accepts an identical re-declaration and rejects a conflicting one, naming the key', async () => {
        const key = 'decl:conflict';
        await s.declare({ key, fields: { amount: 'sum' } });
        await s.declare({ key, fields: { amount: 'sum' } });
        await expectRejectedNaming(s.declare({ key, fields: { amount: 'max' } }), key);
        await s.store(key, { amount: 1 }, 1);
        await s.store(key, { amount: 1 }, 1);
        expect(await all(key)).toEqual([[1, { amount: 2 }]]); // still sum
      });

      it('rejects declaring a different policy for a field created by writes (as last)', async () => {
        await s.store('decl:late', { amount: 1 }, 1);
        await expectRejectedNaming(s.declare({ key: 'decl:late', fields: { amount: 'sum' } }), 'decl:late');
      });

      it('rejects writes of fields a declared series does not have, naming the key', async () => {
        await s.declare({ key: 'decl:fields', fields: { open: 'first', close: 'last' } });
        await expectRejectedNaming(s.store('decl:fields', { open: 1, volume: 2 }, 1), 'decl:fields');
        expect(await all('decl:fields')).toEqual([]);
      });

      it('rejects malformed declarations, naming the key', async () => {
        const key = 'decl:bad';
        const bad = [
          { key, fields: {} },
          { key, fields: { Open: 'last' } },
          { key, fields: { open: 'avg' } },
          { key, fields: { open: 'last' }, retentionMs: -1 },
          { key, fields: { open: 'last' }, retentionMs: 1.5 },
        ];
        for (const decl of bad) await expectRejectedNaming(s.declare(decl as never), key);
        await expectRejectedNaming(s.declare({ key: 'bad key', fields: { value: 'last' } }), 'bad key');
      });
    });

    describe('retention', () => {
      it('drops samples older than the newest sample minus the retention, not the wall clock', async () => {
        const key = 'ret:relative';
        await s.declare({ key, fields: { value: 'last' }, retentionMs: 100 });
        // 1970 timestamps: a wall-clock rule would drop them all.
        await s.storeMany([1000, 1050, 1100, 1150].map((t) => ({ key, value: t, timestamp: t })));
        expect(await all(key)).toEqual([[1050, 1050], [1100, 1100], [1150, 1150]]);
        await s.store(key, 1300, 1300);
        await s.store(key, 500, 500); // late and already past retention
        await s.flush();
        expect(await all(key)).toEqual([[1300, 1300]]);
        expect(await s.fetch(key, 0, 1200)).toEqual([]);
      });

      it('applies a retention declared after the data was written', async () => {
        const key = 'ret:later';
        await s.storeMany([0, 10, 20, 30].map((t) => ({ key, value: t, timestamp: t })));
        await s.declare({ key, fields: { value: 'last' }, retentionMs: 15 });
        await s.flush();
        expect(await all(key)).toEqual([[20, 20], [30, 30]]);
      });

      it('keeps everything with retention 0 or none', async () => {
        const ts = [0, 1, 1_000_000_000_000, MAX_TS];
        await s.declare({ key: 'ret:zero', fields: { value: 'last' }, retentionMs: 0 });
        await s.storeMany(ts.flatMap((t) => [{ key: 'ret:zero', value: 1, timestamp: t }, { key: 'ret:none', value: 1, timestamp: t }]));
        await s.flush();
        expect((await all('ret:zero')).map(([t]) => t)).toEqual(ts);
        expect((await all('ret:none')).map(([t]) => t)).toEqual(ts);
      });
    });

    describe('bucketed reads', () => {
      // Buckets of 10 ms: [0,5] → 4,1; [10,19] → 7,2,3; [20,29] → 5; [30,39] empty; [40,49] → -1.
      const data: Sample[] = [[0, 4], [5, 1], [10, 7], [12, 2], [19, 3], [20, 5], [45, -1]];
      const answers: Record<Aggregation, Sample[]> = {
        first: [[0, 4], [10, 7], [20, 5], [40, -1]],
        last: [[0, 1], [10, 3], [20, 5], [40, -1]],
        min: [[0, 1], [10, 2], [20, 5], [40, -1]],
        max: [[0, 4], [10, 7], [20, 5], [40, -1]],
        sum: [[0, 5], [10, 12], [20, 5], [40, -1]],
        avg: [[0, 2.5], [10, 4], [20, 5], [40, -1]],
        count: [[0, 2], [10, 3], [20, 1], [40, 1]],
      };
      const key = 'bucket:scalar';
      const load = () => s.storeMany([...data].reverse().map(([t, v]) => ({ key, value: v, timestamp: t })));

      for (const aggregation of Object.keys(answers) as Aggregation[]) {
        it(`aggregates ${aggregation} per epoch-aligned bucket, leaving empty buckets out`, async () => {
          await load();
          expect(await s.fetch(key, 0, MAX_TS, { bucketMs: 10, aggregation })).toEqual(answers[aggregation]);
        });
      }

      it('aggregates only the samples inside the range; a bucket keeps its aligned start', async () => {
        await load();
        expect(await s.fetch(key, 5, 19, { bucketMs: 10, aggregation: 'sum' })).toEqual([[0, 1], [10, 12]]);
        expect(await s.fetch(key, 11, 44, { bucketMs: 10, aggregation: 'count' })).toEqual([[10, 2], [20, 1]]);
        expect(await s.fetch(key, 0, MAX_TS, { bucketMs: 1, aggregation: 'last' })).toEqual(data);
      });

      it('aggregates each field of a record on its own', async () => {
        const rk = 'bucket:record';
        await s.storeMany([
          { key: rk, value: { a: 1, b: 10 }, timestamp: 0 },
          { key: rk, value: { a: 3 }, timestamp: 3 },
          { key: rk, value: { a: 5, b: 30 }, timestamp: 10 },
        ]);
        expect(await s.fetch(rk, 0, 100, { bucketMs: 10, aggregation: 'avg' })).toEqual([[0, { a: 2, b: 10 }], [10, { a: 5, b: 30 }]]);
        expect(await s.fetch(rk, 0, 100, { bucketMs: 10, aggregation: 'count' })).toEqual([[0, { a: 2, b: 1 }], [10, { a: 1, b: 1 }]]);
        expect(await s.fetch(rk, 0, 100, { bucketMs: 5, aggregation: 'max' })).toEqual([[0, { a: 3, b: 10 }], [10, { a: 5, b: 30 }]]);
      });

      it('gives [] for an unknown key and rejects bad bucket options naming the key', async () => {
        expect(await s.fetch('bucket:none', 0, 100, { bucketMs: 10, aggregation: 'avg' })).toEqual([]);
        await load();
        const bad = [{ bucketMs: 0, aggregation: 'avg' }, { bucketMs: -10, aggregation: 'avg' }, { bucketMs: 1.5, aggregation: 'avg' }, { bucketMs: 10, aggregation: 'median' }, { bucketMs: 10 }];
        for (const options of bad) await expectRejectedNaming(s.fetch(key, 0, 100, options as never), key);
      });
    });

    describe('rejecting bad input', () => {
      const good = 'trades:binance:BTC-USDT';

      it('accepts keys of 1 to 200 allowed characters', async () => {
        const keys = ['a', 'x'.repeat(200), 'klines:okx:ETH-USDT:1m', 'liquidity:kraken:BTC-USD', 'A-Z_a.z/0:9'];
        for (const key of keys) await s.store(key, 1, 1);
        for (const key of keys) expect(await all(key)).toEqual([[1, 1]]);
      });

      it('rejects bad keys with an error naming the key, storing nothing', async () => {
        const bad: unknown[] = ['trades:binance:BTC USDT', 'trades:binance:BTC-USDT!', 'trades:binance:BTC-€', 'a\nb', '', 'k'.repeat(201), 42, null, undefined];
        for (const key of bad) await expectRejectedNaming(s.store(key as string, 1, 1), key);
        expect(await s.keys()).toEqual([]);
      });

      it('rejects bad timestamps with an error naming the key, storing nothing', async () => {
        const bad: unknown[] = [1.5, -1, NaN, Infinity, '1700000000000', 2 ** 53, null, undefined];
        for (const t of bad) await expectRejectedNaming(s.store(good, 1, t as number), good);
        await s.flush();
        expect(await all(good)).toEqual([]);
      });

      it('rejects bad values with an error naming the key, storing nothing of them', async () => {
        const bad: unknown[] = [NaN, Infinity, -Infinity, '1.5', null, undefined, true, [1, 2], {}, { a: { b: 1 } }, { a: '1' }, { a: NaN },
          { a: Infinity }, { Open: 1 }, { '1a': 1 }, { 'a-b': 1 }, { _a: 1 }, { 'a b': 1 }];
        await s.store(good, { a: 1 }, 5);
        for (const v of bad) await expectRejectedNaming(s.store(good, v as SampleValue, 5), good);
        // Not half-stored: the good field of a refused record is not applied either.
        await expectRejectedNaming(s.store(good, { a: 2, b: NaN }, 5), good);
        await s.flush();
        expect(await all(good)).toEqual([[5, { a: 1 }]]);
      });

      it('counts every refused sample in stats().rejected', async () => {
        const before = s.stats().rejected;
        await s.store(good, NaN, 1).catch(() => undefined);
        await s.store('bad key', 1, 1).catch(() => undefined);
        await s.storeMany([{ key: good, value: 1, timestamp: -1 }, { key: good, value: 1, timestamp: 1 }]);
        expect(s.stats().rejected - before).toBe(3);
      });

      it('storeMany reports bad points by index and stores the good ones', async () => {
        const points = [
          { key: good, value: 1, timestamp: 10 },
          { key: 'bad key', value: 2, timestamp: 20 },
          { key: good, value: { a: 1 }, timestamp: 30 }, // a record into a scalar series
          { key: good, value: 4, timestamp: 1.5 },
          { key: 'trades:okx:BTC-USDT', value: 5, timestamp: 50 },
          { key: good, value: Infinity, timestamp: 60 },
          { key: good, value: 7, timestamp: 70 },
        ] as Point[];
        const result = await s.storeMany(points);
        expect(result.accepted).toBe(3);
        expect(result.rejected.map((r) => [r.index, r.key])).toEqual([[1, 'bad key'], [2, good], [3, good], [5, good]]);
        for (const r of result.rejected) expect(r.reason).toContain(r.key);
        expect(await all(good)).toEqual([[10, 1], [70, 7]]);
        expect(await all('trades:okx:BTC-USDT')).toEqual([[50, 5]]);
        expect(await s.storeMany([])).toEqual({ accepted: 0, rejected: [] });
      });
    });

    describe('durability and lifecycle', () => {
      it('counts buffered and written samples in stats()', async () => {
        await s.storeMany([1, 2, 3].map((t) => ({ key: 'stats:x', value: t, timestamp: t })));
        await s.flush();
        expect(s.stats()).toMatchObject({ buffered: 0, written: 3, rejected: 0, errors: 0 });
        expect(typeof s.stats().backend).toBe('string');
      });

      it('fails every call after close() with StorageClosedError', async () => {
        await s.store('closed:x', 1, 1);
        await s.close();
        const calls: Array<Promise<unknown>> = [
          s.store('closed:x', 1, 2),
          s.storeMany([{ key: 'closed:x', value: 1, timestamp: 3 }]),
          s.fetch('closed:x', 0, 10),
          s.keys(),
          s.flush(),
          s.declare({ key: 'closed:y', fields: { value: 'last' } }),
        ];
        for (const call of calls) {
          const err = await rejectionOf(call);
          expect(err).toBeInstanceOf(StorageClosedError);
          expect(err.message).toMatch(/closed/);
        }
      });

      it('makes flushed data visible to a second reader while the writer stays open', async (ctx) => {
        if (!harness.openReader) ctx.skip('backend has no second reader');
        await s.declare({ key: 'vis:trades', fields: { amount: 'sum', price: 'last' } });
        await s.storeMany([
          { key: 'vis:trades', value: { amount: 1, price: 10 }, timestamp: 1 },
          { key: 'vis:trades', value: { amount: 2, price: 11 }, timestamp: 1 },
          { key: 'vis:scalar', value: 0.1 + 0.2, timestamp: 2 },
        ]);
        await s.flush();
        const r = await reader();
        expect(await all('vis:trades', r)).toEqual([[1, { amount: 3, price: 11 }]]);
        expect(await all('vis:scalar', r)).toEqual([[2, 0.30000000000000004]]);
        expect(await all('vis:unknown', r)).toEqual([]);
        // The same reader sees later flushes, merges included.
        await s.store('vis:trades', { amount: 4, price: 12 }, 1);
        await s.store('vis:trades', { amount: 1, price: 13 }, 5);
        await s.flush();
        expect(await all('vis:trades', r)).toEqual([[1, { amount: 7, price: 12 }], [5, { amount: 1, price: 13 }]]);
        expect(await s.fetch('vis:trades', 0, 3, { bucketMs: 10, aggregation: 'sum' })).toEqual(await r.fetch('vis:trades', 0, 3, { bucketMs: 10, aggregation: 'sum' }));
        expect((await r.keys()).map((k) => k.key).sort()).toEqual(['vis:scalar', 'vis:trades']);
      });

      it('flushes on close(): a reader opened afterwards sees everything', async (ctx) => {
        if (!harness.openReader) ctx.skip('backend has no second reader');
        await s.storeMany([1, 2, 3].map((t) => ({ key: 'close:x', value: t / 10, timestamp: t })));
        await s.close();
        expect(await all('close:x', await reader())).toEqual([[1, 0.1], [2, 0.2], [3, 0.3]]);
      });

      it('commits each checkpoint with its samples: a writer killed with SIGKILL at random moments leaves checkpoints that match the data exactly, and resuming from them stores every trade once', async (ctx) => {
        if (!harness.childSpec) ctx.skip('backend lives in one process: nothing of it survives a kill');
        if (!s.collectorState) ctx.skip('backend keeps no collector state');
        // The writer process is the only writer (SQLite: one per file).
        await s.close();
        const keys = ['crash:a', 'crash:b'];
        for (let kill = 0; kill < 6; kill++) {
          await crashWrites(harness.childSpec!, 'crash-writer', keys, 30 + Math.floor(Math.random() * 300));
          const r = await reader();
          const record = await r.collectorState!.load('crash-writer');
          for (const key of keys) {
            const checkpoint = record?.checkpoints.find((c) => c.key === key);
            const samples = await all(key, r);
            let count = 0;
            let amount = 0;
            let maxId = 0;
            for (const [, v] of samples) {
              const f = v as Record<string, number>;
              count += f.count!;
              amount += f.amount!;
              maxId = Math.max(maxId, f.id!);
            }
            const last = Number(checkpoint?.lastTradeId ?? 0);
            // Each trade once (count), none past the checkpoint (id), none before it missing.
            expect({ kill, key, count, maxId, amount }).toEqual({ kill, key, count: last, maxId: last, amount: last * 0.5 });
            expect(checkpoint?.lastTimestamp ?? samples.at(-1)?.[0]).toBe(samples.at(-1)?.[0]);
          }
          await r.close();
          readers.splice(readers.indexOf(r), 1);
        }
        const final = await reader();
        expect(Number((await final.collectorState!.load('crash-writer'))!.checkpoints[0]!.lastTradeId)).toBeGreaterThan(0);
      }, 60_000);

      it('keeps a checkpoint given to storeMany with the samples: loaded at once by the writer, and by a second reader once flushed', async (ctx) => {
        if (!s.collectorState) ctx.skip('backend keeps no collector state');
        await s.declare({ key: 'cp:a', fields: { amount: 'sum' } });
        await s.storeMany([{ key: 'cp:a', value: { amount: 1 }, timestamp: 10 }], { checkpoint: { collector: 'c', checkpoints: [{ key: 'cp:a', lastTradeId: '1', lastTimestamp: 10 }] } });
        await s.storeMany([{ key: 'cp:a', value: { amount: 2 }, timestamp: 11 }], { checkpoint: { collector: 'c', checkpoints: [{ key: 'cp:a', lastTradeId: '2', lastTimestamp: 11 }] } });
        // A checkpoint alone commits with (or after) every sample accepted before it.
        await s.storeMany([], { checkpoint: { collector: 'k', checkpoints: [{ key: 'cp:b', lastTimestamp: 5 }] } });
        await s.flush();
        const expected = [{ key: 'cp:a', lastTradeId: '2', lastTimestamp: 11 }];
        expect((await s.collectorState!.load('c'))!.checkpoints).toEqual(expected);
        expect((await s.collectorState!.load('k'))!.checkpoints).toEqual([{ key: 'cp:b', lastTimestamp: 5 }]);
        expect((await s.collectorState!.list()).map((r) => r.collector)).toEqual(['c', 'k']);
        if (harness.openReader) {
          const r = await reader();
          expect((await r.collectorState!.load('c'))!.checkpoints).toEqual(expected);
          expect(await all('cp:a', r)).toEqual([[10, { amount: 1 }], [11, { amount: 2 }]]);
        }
      });

      it('never puts back an older checkpoint when the health of the same collector is saved meanwhile', async (ctx) => {
        if (!s.collectorState) ctx.skip('backend keeps no collector state');
        const store = s.collectorState!;
        const checkpointAt = (id: number) => ({ collector: 'trades:x', checkpoints: [{ key: 'cp:x', lastTradeId: String(id), lastTimestamp: id }] });
        await s.storeMany([{ key: 'cp:x', value: 1, timestamp: 1 }], { checkpoint: checkpointAt(1) });
        // Health saves load the record (checkpoint 1) while samples with newer checkpoints commit.
        const saves: Array<Promise<unknown>> = [];
        for (let i = 2; i <= 30; i++) {
          saves.push(updateCollectorState(store, 'trades:x', { state: i % 2 ? 'running' : 'backing-off', restarts: i, lastError: null }));
          await s.storeMany([{ key: 'cp:x', value: i, timestamp: i }], { checkpoint: checkpointAt(i) });
        }
        await Promise.all(saves);
        await s.flush();
        const record = (await store.load('trades:x'))!;
        expect(record).toMatchObject({ state: 'backing-off', restarts: 30 });
        expect(record.checkpoints).toEqual(checkpointAt(30).checkpoints);
      });

      it('refuses a malformed checkpoint before storing anything of the call', async (ctx) => {
        if (!s.collectorState) ctx.skip('backend keeps no collector state');
        const bad = { checkpoint: { collector: '', checkpoints: [{ key: 'cp:y', lastTradeId: '1' }] } };
        await expect(s.storeMany([{ key: 'cp:y', value: 1, timestamp: 1 }], bad)).rejects.toBeInstanceOf(StorageError);
        await expect(s.storeMany([{ key: 'cp:y', value: 1, timestamp: 1 }], { checkpoint: { collector: 'c', checkpoints: [{ key: 'bad key!' }] } })).rejects.toBeInstanceOf(StorageError);
        expect(await all('cp:y')).toEqual([]);
      });

      it('serves fetch to a separate OS process', async (ctx) => {
        if (!harness.childSpec) ctx.skip('backend lives in one process: no other process can read it');
        const fetchInChild = (key: string, start: number, end: number) => childFetch(harness.childSpec!, key, start, end);
        const samples: Point[] = [
          { key: 'proc:x', value: 0.1 + 0.2, timestamp: 1 },
          { key: 'proc:x', value: 5e-324, timestamp: 2 },
          { key: 'proc:x', value: 1e21, timestamp: 3 },
          { key: 'proc:r', value: { open: 1.5, close: 123456789.12345678 }, timestamp: 4 },
        ];
        await s.storeMany(samples);
        await s.flush();
        // JSON carries doubles exactly (apart from -0, which the bit-for-bit test covers).
        expect(await fetchInChild('proc:x', 0, MAX_TS)).toEqual([[1, 0.30000000000000004], [2, 5e-324], [3, 1e21]]);
        expect(await fetchInChild('proc:x', 2, 2)).toEqual([[2, 5e-324]]);
        expect(await fetchInChild('proc:r', 0, MAX_TS)).toEqual([[4, { open: 1.5, close: 123456789.12345678 }]]);
        expect(await fetchInChild('proc:none', 0, MAX_TS)).toEqual([]);
      });
    });

    describe('write fencing (HA across daemons)', () => {
      const unit = 'trades:fence';
      const trade = (key: string, id: number, amount = 0.5): Point => ({ key, value: { amount, count: 1, id }, timestamp: 1_000 + Math.floor(id / 3) });
      const checkpointAt = (key: string, id: number): CheckpointUpdate => ({ collector: unit, checkpoints: [{ key, lastTradeId: String(id), lastTimestamp: 1_000 + Math.floor(id / 3) }] });
      const declareTrades = (key: string, storage = s) => storage.declare({ key, fields: { amount: 'sum', count: 'sum', id: 'max' } });
      const checkpointOf = async (key: string, storage = s) => (await storage.collectorState!.load(unit))?.checkpoints.find((c) => c.key === key);
      const stale = (storage = s) => storage.stats().staleWritesRefused ?? 0;
      /** Count, amount and highest id of a trades series (each trade counts 1). */
      const totals = async (key: string, storage = s) => {
        let count = 0;
        let amount = 0;
        let maxId = 0;
        for (const [, v] of await all(key, storage)) {
          const f = v as Record<string, number>;
          count += f.count!;
          amount += f.amount!;
          maxId = Math.max(maxId, f.id!);
        }
        return { count, amount, maxId };
      };

      it('refuses the writes of an older owner once a newer one has fenced the series: data and checkpoint unchanged, counted; the newer owner writes', async (ctx) => {
        if (!s.fenced) ctx.skip('backend has no fenced(): it cannot be shared across machines');
        const key = 'fence:a';
        await declareTrades(key);
        const first = await s.fenced!({ unit, token: 1 }, [key]);
        await first.storeMany([trade(key, 1), trade(key, 2)], { checkpoint: checkpointAt(key, 2) });
        await first.flush();
        const second = await s.fenced!({ unit, token: 2 }, [key]);
        const before = stale();
        // The old owner, unaware: its samples (a sum!) and its checkpoint are refused whole.
        expect(await first.storeMany([trade(key, 3), trade(key, 4)], { checkpoint: checkpointAt(key, 4) })).toEqual({ accepted: 2, rejected: [] });
        await first.flush();
        expect(await totals(key)).toEqual({ count: 2, amount: 1, maxId: 2 });
        expect(await checkpointOf(key)).toEqual(checkpointAt(key, 2).checkpoints[0]);
        expect(stale() - before).toBe(2);
        // The new owner resumes from the checkpoint and writes.
        await second.storeMany([trade(key, 3), trade(key, 4), trade(key, 5)], { checkpoint: checkpointAt(key, 5) });
        await second.flush();
        expect(await totals(key)).toEqual({ count: 5, amount: 2.5, maxId: 5 });
        expect(await checkpointOf(key)).toEqual(checkpointAt(key, 5).checkpoints[0]);
        // A lone checkpoint of the old owner would move it backwards: refused too.
        await first.storeMany([], { checkpoint: checkpointAt(key, 3) });
        await first.flush();
        expect(await checkpointOf(key)).toEqual(checkpointAt(key, 5).checkpoints[0]);
        // Fences are per unit: another unit's old token still writes.
        const other = await s.fenced!({ unit: 'trades:other', token: 1 }, []);
        await other.store(key, { amount: 0.5, count: 1, id: 6 }, 2_000);
        await other.flush();
        expect((await totals(key)).count).toBe(6);
        // Both views read what the storage reads; closing one leaves the storage and the other open.
        expect(await all(key, first)).toEqual(await all(key));
        await first.close();
        await expect(first.store(key, { amount: 1, count: 1, id: 7 }, 3_000)).rejects.toBeInstanceOf(StorageClosedError);
        await second.store(key, { amount: 0.5, count: 1, id: 7 }, 3_000);
        expect((await totals(key)).count).toBe(7);
      });

      it('fences a series no claim named once the newer owner writes it: the older owner is refused from then on', async (ctx) => {
        if (!s.fenced) ctx.skip('backend has no fenced(): it cannot be shared across machines');
        const key = 'fence:b';
        await declareTrades(key);
        const first = await s.fenced!({ unit, token: 1 }, []);
        const second = await s.fenced!({ unit, token: 2 }, []);
        // Nobody has claimed it: the older owner still writes.
        await first.storeMany([trade(key, 1)], { checkpoint: checkpointAt(key, 1) });
        await first.flush();
        await second.storeMany([trade(key, 2)], { checkpoint: checkpointAt(key, 2) });
        await second.flush();
        const before = stale();
        await first.storeMany([trade(key, 3)], { checkpoint: checkpointAt(key, 3) });
        await first.flush();
        expect(stale() - before).toBe(1);
        expect(await totals(key)).toEqual({ count: 2, amount: 1, maxId: 2 });
        expect(await checkpointOf(key)).toEqual(checkpointAt(key, 2).checkpoints[0]);
      });

      it('applies a fenced write in flight across a dropped connection at most once, and not at all once stale', async (ctx) => {
        if (!s.fenced) ctx.skip('backend has no fenced(): it cannot be shared across machines');
        if (!harness.lossyLink) ctx.skip('harness has no link that can lose a reply for this backend');
        const key = 'fence:c';
        const link = await harness.lossyLink!();
        try {
          const storage = link.storage;
          await declareTrades(key, storage);
          const first = await storage.fenced!({ unit, token: 1 }, [key]);
          await first.storeMany([trade(key, 1)], { checkpoint: checkpointAt(key, 1) });
          await first.flush();
          // Applied, reply lost: the retry must find it applied (the sum not added twice).
          link.loseNextReply();
          await first.storeMany([trade(key, 2)], { checkpoint: checkpointAt(key, 2) });
          await first.flush();
          expect(link.cuts()).toBe(1);
          expect(await totals(key, storage)).toEqual({ count: 2, amount: 1, maxId: 2 });
          expect(stale(storage)).toBe(0);
          // Refused as stale, reply lost: the retry is refused again, nothing applied.
          await s.fenced!({ unit, token: 2 }, [key]);
          link.loseNextReply();
          await first.storeMany([trade(key, 3)], { checkpoint: checkpointAt(key, 3) });
          await first.flush();
          expect(link.cuts()).toBe(2);
          expect(stale(storage)).toBe(1);
          expect(await totals(key, storage)).toEqual({ count: 2, amount: 1, maxId: 2 });
          expect(await checkpointOf(key)).toEqual(checkpointAt(key, 2).checkpoints[0]);
        } finally {
          await link.close();
        }
      });

      it('refuses an older owner in another process stopped past its lease (SIGSTOP): only what it committed before the fence stays, its checkpoint says what', async (ctx) => {
        if (!s.fenced) ctx.skip('backend has no fenced(): it cannot be shared across machines');
        if (!harness.childSpec) ctx.skip('harness has no second process for this backend');
        const key = 'fence:proc';
        await declareTrades(key);
        const child = await ChildWriter.start(harness.childSpec!, unit, [key], { unit, token: 1 });
        try {
          await child.until((st) => st.written > 2_000, 10_000, 'writing');
          child.pause();
          // The new owner fences the series, then resumes from what the old one had committed.
          const owner = await s.fenced!({ unit, token: 2 }, [key]);
          const committed = Number((await checkpointOf(key))!.lastTradeId);
          expect(await totals(key)).toEqual({ count: committed, amount: committed * 0.5, maxId: committed });
          const more = Array.from({ length: 100 }, (_, i) => trade(key, committed + 1 + i));
          await owner.storeMany(more, { checkpoint: checkpointAt(key, committed + 100) });
          await owner.flush();
          // The old owner wakes up and writes on, from where it was.
          child.resume();
          await child.until((st) => (st.staleWritesRefused ?? 0) > 1_000, 10_000, 'having stale writes refused');
          await child.kill();
          const total = committed + 100;
          expect(await totals(key)).toEqual({ count: total, amount: total * 0.5, maxId: total });
          expect(await checkpointOf(key)).toEqual(checkpointAt(key, total).checkpoints[0]);
        } finally {
          await child.kill().catch(() => undefined);
        }
      }, 60_000); // the first child process may build dist/ first
    });
  });
}
