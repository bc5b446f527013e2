import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The recorded exchange messages, kept outside the repository: `QC_FIXTURES` when set, else
 * `../shared/fixtures/exchanges/` beside the checkout. Without them the tests that read them are
 * skipped (they declare it with `describe.skipIf(NO_FIXTURES)` / `it.skipIf(NO_FIXTURES)`) and
 * the run prints FIXTURES_SKIPPED once (test/support/fixtures-setup.ts); nothing reads them at
 * import, so every other test of the same file still runs.
 */
const BESIDE_CHECKOUT = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'exchanges');
const LOOK_IN = process.env.QC_FIXTURES ? resolve(process.env.QC_FIXTURES) : BESIDE_CHECKOUT;

const holdsFixtures = (dir: string): boolean => existsSync(join(dir, 'SOURCES.md'));

export const FIXTURES_DIR: string | undefined = holdsFixtures(LOOK_IN) ? LOOK_IN : undefined;
export const NO_FIXTURES = FIXTURES_DIR === undefined;

export const FIXTURES_SKIPPED =
  `SKIPPED tests of recorded exchange messages: no fixtures in ${LOOK_IN}; ` +
  'put them in ../shared/fixtures/exchanges beside the repository, or set QC_FIXTURES=/path/to/fixtures/exchanges';

/** Set but wrong is a mistake to report, not a reason to skip quietly. */
export const QC_FIXTURES_WRONG: string | undefined =
  process.env.QC_FIXTURES && NO_FIXTURES
    ? `QC_FIXTURES=${process.env.QC_FIXTURES} holds no recorded exchange fixtures (no SOURCES.md there)`
    : undefined;

function fixturesDir(): string {
  if (FIXTURES_DIR === undefined) throw new Error(`read a fixture in a test not marked skipIf(NO_FIXTURES): ${FIXTURES_SKIPPED}`);
  return FIXTURES_DIR;
}

/** The path of a fixture file: `fixturePath('binance')` is that exchange's folder. */
export function fixturePath(exchange: string, name = ''): string {
  return join(fixturesDir(), exchange, name);
}

/** A fixture file's text, exactly as recorded: `fixture('binance', 'rest_time.json')`. */
export function fixture(exchange: string, name: string): string {
  return readFileSync(fixturePath(exchange, name), 'utf8');
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

/** Reads `load()` on first use, so a file can name its fixtures at the top without reading them at import. */
export function lazyFixture<T>(load: () => T): () => T {
  let loaded: { value: T } | undefined;
  return () => (loaded ??= { value: load() }).value;
}
