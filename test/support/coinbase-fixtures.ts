import { fixture } from './fixtures.js';

/** A Coinbase fixture file's text, exactly as recorded. */
export function coinbaseFixture(name: string): string {
  return fixture('coinbase', name);
}

/** The non-empty lines of a Coinbase `.jsonl` fixture: one recorded frame each. */
export function coinbaseFixtureLines(name: string): string[] {
  return coinbaseFixture(name).split('\n').filter((line) => line.trim().length > 0);
}
