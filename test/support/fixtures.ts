import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The recorded exchange fixtures (`../shared/fixtures/exchanges/` beside the repo). A clone
 * elsewhere points at them with QC_FIXTURES; the failure names every place looked at.
 */
const CANDIDATES = [
  process.env.QC_FIXTURES,
  join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'exchanges'),
  '/work/shared/fixtures/exchanges',
].filter((d): d is string => Boolean(d));

export const FIXTURES_DIR: string = CANDIDATES.find((d) => existsSync(join(d, 'SOURCES.md'))) ??
  (() => {
    throw new Error(`exchange fixtures not found; looked in ${CANDIDATES.join(', ')}; set QC_FIXTURES`);
  })();

/** A fixture file's text, exactly as recorded: `fixture('binance', 'rest_time.json')`. */
export function fixture(exchange: string, name: string): string {
  return readFileSync(join(FIXTURES_DIR, exchange, name), 'utf8');
}

/** The non-empty lines of a `.jsonl` fixture: one recorded frame each. */
export function fixtureLines(exchange: string, name: string): string[] {
  return fixture(exchange, name).split('\n').filter((line) => line.trim().length > 0);
}

/**
 * A documented example from `<exchange>/docs_examples_protocol.json`, re-serialized as the frame
 * (or request) it documents. A missing name fails here, not as a puzzling parse error later.
 */
export function docsExample(exchange: string, name: string): string {
  const docs = JSON.parse(fixture(exchange, 'docs_examples_protocol.json')) as Record<string, unknown>;
  if (!(name in docs)) throw new Error(`${exchange} docs_examples_protocol.json has no ${name}`);
  return JSON.stringify(docs[name]);
}
