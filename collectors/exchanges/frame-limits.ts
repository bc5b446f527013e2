/**
 * The largest WebSocket frame taken from each exchange (the `ws` maxPayload of its trade and book
 * connections): about 4× its largest real frame, at least 1 MiB. `ws` checks a frame's length in
 * its header, so a bigger one is refused before its payload is read (nothing of it is buffered);
 * the collector counts it as `oversized` and reopens the connection. Sizes measured in
 * ../shared/fixtures/exchanges (longest line of each recorded frame file).
 */
const MiB = 1024 * 1024;

const maxFrameBytes: Readonly<Record<string, number>> = {
  // Largest recorded: depth20 snapshot 1.3 KB (ws_depth20_100ms_FLMUSDT_full20.json), combined-stream
  // frames 0.5 KB; trades come one per frame. The 1 MiB floor leaves ~800× room.
  binance: MiB,
  // `books` 400-level snapshot 25 KB (ws_books_BTC-USDT_snapshot_then_updates.jsonl); books5 0.4 KB;
  // a trades push holds one taker order's fills. 4 × 25 KB is under the floor.
  okx: MiB,
  // orderbook.50 spot snapshot 2.5 KB (ws_orderbook50_spot_BTCUSDT_snapshot_delta_2024-11-08.jsonl),
  // orderbook.500 (linear) 18 KB; publicTrade pushes batch trades at ~0.2 KB each.
  bybit: MiB,
  // level2_batch starts with the WHOLE book: SKL-USD's is 40 KB for 2,155 levels (~19 B a level,
  // ws_level2_snapshot_and_l2update_SKL-USD_first400.jsonl). BTC-USD's is several MB: it overflows
  // aiohttp's 4 MiB default "more than 9 times out of 10" (ccxt/ccxt#23597) and fits a 10 MB buffer
  // (barrywood78/Coinbase.AdvancedTrade#12): 4 × ~8 MB.
  coinbase: 32 * MiB,
  // book depth 100 snapshot: the depth-10 one is 0.8 KB (ws_v2_book_ETH-USD_depth10_*.jsonl), so ~8 KB
  // at 100 levels; trade updates batch trades at ~0.2 KB each.
  kraken: MiB,
  // spot.order_book_update 100-level frames 4.3 KB (ws_order_book_update_100ms_10pairs_2021-04-22.jsonl);
  // spot.trades one trade per frame (0.3 KB). 4 × 5 KB is under the floor.
  gateio: MiB,
};

// An exchange added by a plugin without a measured limit: generous, still far below ws's 100 MiB default.
const UNMEASURED_MAX_FRAME_BYTES = 16 * MiB;

/** The largest WebSocket frame accepted from `exchange`, in bytes. */
export function maxFrameBytesOf(exchange: string): number {
  return maxFrameBytes[exchange] ?? UNMEASURED_MAX_FRAME_BYTES;
}
