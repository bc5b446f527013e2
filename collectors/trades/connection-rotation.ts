import { compareTradeIds } from './dedup.js';
import { LastUsedMap } from '../../common/last-used-map.js';
import type { Trade } from './trade.js';

/**
 * The trades one connection delivered, as far as a connection rotation needs them: the last id
 * per symbol and, while the connection is a replacement not yet switched to, the trades it
 * received, held back so that the two connections' streams never interleave in the gap filler
 * (a replacement running ahead of the old connection would look like a jump, i.e. a gap).
 */
export class ConnectionTrades {
  private readonly lastIds = new LastUsedMap<{ id?: string | number }>(() => ({}));
  private readonly firstHeld = new Map<string, Trade>();
  private held: Trade[] | undefined;

  /** `holding`: a replacement, whose trades wait for the switch. */
  constructor(
    private readonly idsIncrease: boolean,
    holding: boolean,
  ) {
    if (holding) this.held = [];
  }

  /** Trades held back for the switch: none once switched to. */
  get heldTrades(): number {
    return this.held?.length ?? 0;
  }

  /** Notes the trades of a frame; returns those to pass on now (none while holding). */
  receive(trades: readonly Trade[]): readonly Trade[] {
    for (let i = 0; i < trades.length; i++) this.lastIds.of(trades[i]!.symbol).id = trades[i]!.id;
    if (!this.held) return trades;
    for (const trade of trades) {
      if (!this.firstHeld.has(trade.symbol)) this.firstHeld.set(trade.symbol, trade);
      this.held.push(trade);
    }
    return [];
  }

  /**
   * True when, for every symbol, `old` has delivered the first trade this connection holds:
   * this one then has everything after what `old` delivered, and `old` can go without a trade
   * lost. Never true when ids carry no order (the switch then waits for its time limit).
   */
  caughtUpBy(old: ConnectionTrades, symbols: readonly string[]): boolean {
    if (!this.idsIncrease) return false;
    return symbols.every((symbol) => {
      const first = this.firstHeld.get(symbol);
      const last = old.lastIds.peek(symbol)?.id;
      return first !== undefined && last !== undefined && compareTradeIds(last, first.id) >= 0;
    });
  }

  /** Stops holding; returns the held trades, less those `old` already delivered (when ids increase). */
  release(old: ConnectionTrades): Trade[] {
    const held = this.held ?? [];
    this.held = undefined;
    this.firstHeld.clear();
    if (!this.idsIncrease) return held;
    return held.filter((trade) => {
      const last = old.lastIds.peek(trade.symbol)?.id;
      return last === undefined || compareTradeIds(trade.id, last) > 0;
    });
  }
}
