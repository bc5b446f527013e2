import type { DataCollectionStorage } from '../storage/types.js';
import type { DataRequirement } from '../collectors/types.js';
import type { Feed, FeedConfig, PricePoint, RequirementResolver } from './types.js';

/**
 * Common ground of feed kinds: the identity fields, the `collect` list, and `value()`
 * as the last point of `read()` within the kind's look-back.
 */
export abstract class BaseFeed implements Feed {
  readonly name: string;
  readonly exchange: string;
  readonly symbol: string;
  private readonly required: DataRequirement[];

  constructor(
    readonly kind: string,
    protected readonly config: FeedConfig,
    resolver: RequirementResolver,
    pricingInputs: string[],
  ) {
    this.name = config.name;
    this.exchange = config.exchange;
    this.symbol = config.symbol;
    const specs = [...new Set([...pricingInputs, ...(config.collect ?? [])])];
    this.required = specs.map((spec) => resolver.require(spec, config));
  }

  requiredData(): DataRequirement[] {
    return this.required.map((r) => ({ ...r, keys: [...r.keys] }));
  }

  /** How far before `at` the last price may lie and still count for `value(at)`. */
  protected abstract lookbackMs(): number;

  abstract read(storage: DataCollectionStorage, start: number, end: number): Promise<PricePoint[]>;

  async value(storage: DataCollectionStorage, at: number): Promise<number | undefined> {
    const points = await this.read(storage, Math.max(0, at - this.lookbackMs()), at);
    return points.at(-1)?.[1];
  }

  /** The key of the first requirement of a collector kind (the feed's pricing input). */
  protected keyOf(collector: string): string {
    const req = this.required.find((r) => r.collector === collector);
    if (!req) throw new Error(`feed ${this.name} has no ${collector} input`);
    return req.keys[0]!;
  }
}

/** Reads one numeric field of a record series as price points. */
export async function readField(
  storage: DataCollectionStorage,
  key: string,
  field: string,
  start: number,
  end: number,
): Promise<PricePoint[]> {
  const out: PricePoint[] = [];
  for (const [t, v] of await storage.fetch(key, start, end)) {
    const x = typeof v === 'number' ? v : v[field];
    if (x !== undefined) out.push([t, x]);
  }
  return out;
}
