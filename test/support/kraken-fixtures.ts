import { fixture } from './fixtures.js';

/** A Kraken fixture file's text, exactly as recorded. */
export function krakenFixture(name: string): string {
  return fixture('kraken', name);
}

/** The non-empty lines of a Kraken `.jsonl` fixture: one recorded frame each. */
export function krakenFixtureLines(name: string): string[] {
  return krakenFixture(name).split('\n').filter((line) => line.trim().length > 0);
}
