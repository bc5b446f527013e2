import type { CollectorKind } from '../collectors/types.js';
import type { FeedKind, KindLookup } from '../feeds/types.js';
import type { StorageKind } from '../storage/types.js';

/** Thrown for a kind nobody registered; names what was asked and what exists. */
export class UnknownKindError extends Error {
  constructor(what: string, name: string, known: string[]) {
    super(`unknown ${what} kind ${JSON.stringify(name)}; known: ${known.join(', ') || '(none)'}`);
    this.name = 'UnknownKindError';
  }
}

/** The feed, collector and storage kinds available, looked up by name. */
export class Registry implements KindLookup {
  private readonly feeds: Map<string, FeedKind>;
  private readonly collectors: Map<string, CollectorKind>;
  private readonly storages: Map<string, StorageKind>;

  constructor(feedKinds: FeedKind[], collectorKinds: CollectorKind[], storageKinds: StorageKind[]) {
    this.feeds = byName('feed', feedKinds);
    this.collectors = byName('collector', collectorKinds);
    this.storages = byName('storage', storageKinds);
  }

  feedKind(name: string): FeedKind {
    return lookup('feed', this.feeds, name);
  }

  collectorKind(name: string): CollectorKind {
    return lookup('collector', this.collectors, name);
  }

  storageKind(name: string): StorageKind {
    return lookup('storage', this.storages, name);
  }

  /** Every kind of series the collector kinds write (`trades`, `gaps`, ...), sorted. */
  seriesKinds(): string[] {
    return [...new Set([...this.collectors.values()].flatMap((kind) => kind.seriesKinds ?? [kind.name]))].sort();
  }

  /** The exchanges the collector kinds say they collect from (a kind may not say), sorted. */
  exchangeNames(): string[] {
    return [...new Set([...this.collectors.values()].flatMap((kind) => kind.exchanges ?? []))].sort();
  }

  names(): { feeds: string[]; collectors: string[]; storages: string[] } {
    return { feeds: [...this.feeds.keys()], collectors: [...this.collectors.keys()], storages: [...this.storages.keys()] };
  }
}

function byName<K extends { name: string }>(what: string, kinds: K[]): Map<string, K> {
  const map = new Map<string, K>();
  for (const kind of kinds) {
    if (map.has(kind.name)) throw new Error(`${what} kind ${JSON.stringify(kind.name)} is registered twice`);
    map.set(kind.name, kind);
  }
  return map;
}

function lookup<K>(what: string, map: Map<string, K>, name: string): K {
  const kind = map.get(name);
  if (!kind) throw new UnknownKindError(what, name, [...map.keys()]);
  return kind;
}
