/**
 * Vitest global setup: says once per run, not once per test file, that the tests of recorded
 * exchange messages are skipped and where the fixtures go; a QC_FIXTURES that points nowhere
 * stops the run instead.
 */
import { FIXTURES_SKIPPED, NO_FIXTURES, QC_FIXTURES_WRONG } from './fixtures.js';

export default function setup(): void {
  if (QC_FIXTURES_WRONG) throw new Error(QC_FIXTURES_WRONG);
  if (NO_FIXTURES) console.warn(FIXTURES_SKIPPED);
}
