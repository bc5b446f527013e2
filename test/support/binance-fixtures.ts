import { fixture } from './fixtures.js';

/** A Binance fixture file's text, exactly as recorded. */
export function binanceFixture(name: string): string {
  return fixture('binance', name);
}

/** The non-empty lines of a Binance `.jsonl` fixture: one recorded frame each. */
export function binanceFixtureLines(name: string): string[] {
  return binanceFixture(name).split('\n').filter((line) => line.trim().length > 0);
}
