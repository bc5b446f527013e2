import { fixture } from './fixtures.js';

/** A Bybit fixture file's text, exactly as recorded. */
export function bybitFixture(name: string): string {
  return fixture('bybit', name);
}

/** The non-empty lines of a Bybit `.jsonl` fixture: one recorded frame each. */
export function bybitFixtureLines(name: string): string[] {
  return bybitFixture(name).split('\n').filter((line) => line.trim().length > 0);
}

/** A documented example from bybit/docs_examples_protocol.json, re-serialized as a frame. */
export function bybitDocsExample(name: string): string {
  const docs = JSON.parse(bybitFixture('docs_examples_protocol.json')) as Record<string, unknown>;
  if (!(name in docs)) throw new Error(`bybit docs_examples_protocol.json has no ${name}`);
  return JSON.stringify(docs[name]);
}
