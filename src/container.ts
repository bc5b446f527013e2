import { Container } from 'inversify';
import {
  candlesCollectorKind,
  depthCollectorKind,
  klinesCollectorKind,
  liquidityCollectorKind,
  poolCollectorKind,
  tradesCollectorKind,
} from '../collectors/kinds.js';
import { bookMidFeedKind } from '../feeds/book-mid.js';
import { collectionFeedKind } from '../feeds/collection.js';
import { dexPriceFeedKind, dexTwapFeedKind } from '../feeds/dex-price.js';
import { klineCloseFeedKind } from '../feeds/kline-close.js';
import { tradesVwapFeedKind } from '../feeds/trades-vwap.js';
import type { CollectorKind } from '../collectors/types.js';
import type { FeedKind } from '../feeds/types.js';
import type { StorageKind } from '../storage/types.js';
import { memoryStorageKind, redisTimeSeriesStorageKind, sqliteStorageKind } from '../storage/kinds.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { Registry } from './registry.js';

/** Service identifiers in the container. Kinds are multi-bound: bind more to add your own. */
export const TOKENS = {
  FeedKind: Symbol.for('quoting-collector.FeedKind'),
  CollectorKind: Symbol.for('quoting-collector.CollectorKind'),
  StorageKind: Symbol.for('quoting-collector.StorageKind'),
  Registry: Symbol.for('quoting-collector.Registry'),
  Logger: Symbol.for('quoting-collector.Logger'),
} as const;

/** Creates the container with the built-in feed, collector and storage kinds and a logger. */
export function createContainer(options: { logger?: Logger } = {}): Container {
  const container = new Container();
  container.bind(TOKENS.Logger).toConstantValue(options.logger ?? silentLogger);
  for (const kind of [tradesVwapFeedKind, klineCloseFeedKind, bookMidFeedKind, dexPriceFeedKind, dexTwapFeedKind, collectionFeedKind]) {
    registerFeedKind(container, kind as FeedKind);
  }
  registerCollectorKind(container, tradesCollectorKind);
  registerCollectorKind(container, candlesCollectorKind);
  registerCollectorKind(container, klinesCollectorKind);
  registerCollectorKind(container, liquidityCollectorKind);
  registerCollectorKind(container, poolCollectorKind);
  registerCollectorKind(container, depthCollectorKind);
  registerStorageKind(container, sqliteStorageKind as StorageKind);
  registerStorageKind(container, memoryStorageKind as StorageKind);
  registerStorageKind(container, redisTimeSeriesStorageKind as StorageKind);
  // Built on first use, so kinds bound after creation (plugins, tests) are included.
  container
    .bind(TOKENS.Registry)
    .toDynamicValue(
      (ctx) =>
        new Registry(
          ctx.getAll<FeedKind>(TOKENS.FeedKind),
          ctx.getAll<CollectorKind>(TOKENS.CollectorKind),
          ctx.getAll<StorageKind>(TOKENS.StorageKind),
        ),
    )
    .inSingletonScope();
  return container;
}

/** Adds a feed (pricing) kind. */
export function registerFeedKind(container: Container, kind: FeedKind): void {
  container.bind(TOKENS.FeedKind).toConstantValue(kind);
}

/** Adds a collector kind, usable in `collect:` lists. */
export function registerCollectorKind(container: Container, kind: CollectorKind): void {
  container.bind(TOKENS.CollectorKind).toConstantValue(kind);
}

/** Adds a storage kind, usable as `storage.kind`. */
export function registerStorageKind(container: Container, kind: StorageKind): void {
  container.bind(TOKENS.StorageKind).toConstantValue(kind);
}

/** The registry of every kind bound in `container`. */
export function registryOf(container: Container): Registry {
  return container.get<Registry>(TOKENS.Registry);
}
