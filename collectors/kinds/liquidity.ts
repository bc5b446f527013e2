import { groupBy, minDefined } from '../../common/collections.js';
import { formatDuration } from '../../common/duration.js';
import { capabilityOf, type ExchangeDirectory } from '../exchange.js';
import { BookStreamCollector } from '../liquidity/book-stream.js';
import { DEFAULT_LIQUIDITY_INTERVAL_MS, parseLiquidityArg, type LiquidityMode } from '../liquidity/collect-arg.js';
import { DepthPollCollector } from '../liquidity/depth-poller.js';
import { liquidityKey } from '../liquidity/depth.js';
import type { CollectorContext, CollectorKind, DataRequirement, DataSourceCollector } from '../types.js';
import { symbolsPerConnection } from '../ws/channel-protocol.js';

/** One pair to collect and how, after merging every requirement naming it. */
interface PairPlan extends LiquidityMode {
  exchange: string;
  symbol: string;
  staleAfterMs?: number;
}

/**
 * One plan per pair: two feeds asking for the same pair share one collector, since both would
 * write the same key. WebSocket wins over REST and the shorter interval wins.
 */
function planPairs(requirements: readonly DataRequirement[], context: CollectorContext): PairPlan[] {
  const plans = new Map<string, PairPlan>();
  for (const requirement of requirements) {
    const mode = parseLiquidityArg(requirement.arg);
    const id = `${requirement.exchange}:${requirement.symbol}`;
    const plan = plans.get(id);
    if (!plan) {
      plans.set(id, { ...mode, exchange: requirement.exchange, symbol: requirement.symbol, staleAfterMs: requirement.staleAfterMs });
      continue;
    }
    if (plan.source !== mode.source) {
      context.logger.warn({ exchange: plan.exchange, symbol: plan.symbol }, 'liquidity requested over both WebSocket and REST for one pair: using the WebSocket');
      plan.source = 'ws';
    }
    plan.intervalMs = Math.min(plan.intervalMs, mode.intervalMs);
    plan.staleAfterMs = minDefined(plan.staleAfterMs, requirement.staleAfterMs);
  }
  return [...plans.values()];
}

/** `liquidity:binance`, `liquidity:binance:rest`, `liquidity:okx@5s#2`: unique and stable per group. */
function collectorId(exchange: string, mode: LiquidityMode, index: number): string {
  const source = mode.source === 'rest' ? ':rest' : '';
  const interval = mode.intervalMs === DEFAULT_LIQUIDITY_INTERVAL_MS ? '' : `@${formatDuration(mode.intervalMs)}`;
  return `liquidity:${exchange}${source}${interval}${index > 1 ? `#${index}` : ''}`;
}

/**
 * Order-book liquidity snapshots (`collect: [liquidity]`, `liquidity:rest`, `liquidity:ws:500ms`):
 * over each exchange's WebSocket book channel (default) or by polling its REST depth endpoint.
 */
export function createLiquidityCollectorKind(exchanges: ExchangeDirectory): CollectorKind {
  return {
    /** Two feeds asking for one pair's book differently share one collector: WebSocket beats REST, the shorter interval wins. */
    mergeArgs(a, b) {
      const x = parseLiquidityArg(a);
      const y = parseLiquidityArg(b);
      return `${x.source === 'ws' || y.source === 'ws' ? 'ws' : 'rest'}:${Math.min(x.intervalMs, y.intervalMs)}ms`;
    },

    name: 'liquidity',
    exchanges: exchanges.names,

    keysFor(exchange: string, symbol: string, arg: string | undefined): string[] {
      const mode = parseLiquidityArg(arg);
      // Validates the exchange and the symbol's spelling at config time, not at connect.
      if (mode.source === 'ws') capabilityOf(exchanges.get(exchange), 'book').connection.toExchangeSymbol(symbol);
      else capabilityOf(exchanges.get(exchange), 'depthRest').toRestSymbol(symbol);
      return [liquidityKey(exchange, symbol)];
    },

    create(requirements: readonly DataRequirement[], context: CollectorContext): DataSourceCollector[] {
      const collectors: DataSourceCollector[] = [];
      const plans = planPairs(requirements, context);
      for (const group of groupBy(plans, (p) => `${p.exchange} ${p.source} ${p.intervalMs}`).values()) {
        const { exchange, source, intervalMs } = group[0]!;
        const endpoints = context.exchanges[exchange] ?? {};
        const of = exchanges.get(exchange);
        const book = source === 'ws' ? capabilityOf(of, 'book') : undefined;
        const perCollector = Math.min(book ? symbolsPerConnection(book) : group.length, context.maxSymbolsPerCollector ?? Infinity);
        for (let start = 0; start < group.length; start += perCollector) {
          const chunk = group.slice(start, start + perCollector);
          const common = {
            id: collectorId(exchange, { source, intervalMs }, start / perCollector + 1),
            symbols: chunk.map((p) => p.symbol),
            intervalMs,
            staleAfterMs: chunk.map((p) => p.staleAfterMs).reduce(minDefined, undefined),
            logger: context.logger,
          };
          collectors.push(
            book
              ? new BookStreamCollector({ ...common, protocol: book, wsUrl: endpoints.wsUrl, maxFrameBytes: of.maxFrameBytes })
              : new DepthPollCollector({ ...common, source: capabilityOf(of, 'depthRest'), restUrl: endpoints.restUrl, restLimits: of.restLimits }),
          );
        }
      }
      return collectors;
    },
  };
}
