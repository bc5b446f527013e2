import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

// Where the recorded exchange fixtures are found, and what a checkout without them gets: the
// module is imported afresh under each QC_FIXTURES, as a test file importing it would be.
const dir = mkdtempSync(join(tmpdir(), 'qc-fixtures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

async function fixturesWith(qcFixtures: string) {
  vi.stubEnv('QC_FIXTURES', qcFixtures);
  vi.resetModules();
  return import('./support/fixtures.js');
}

describe('recorded exchange fixtures', () => {
  it('are read from QC_FIXTURES when it holds them (SOURCES.md), lazily and exactly as recorded', async () => {
    const at = join(dir, 'present');
    mkdirSync(join(at, 'binance'), { recursive: true });
    writeFileSync(join(at, 'SOURCES.md'), '# sources\n');
    writeFileSync(join(at, 'binance', 'ws.jsonl'), '{"a":1}\n\n{"b":2}\n');
    const fixtures = await fixturesWith(at);
    expect(fixtures.NO_FIXTURES).toBe(false);
    expect(fixtures.FIXTURES_DIR).toBe(at);
    expect(fixtures.QC_FIXTURES_WRONG).toBeUndefined();
    expect(fixtures.fixtureLines('binance', 'ws.jsonl')).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('missing: importing does not throw, the tests that read them skip, and the one message says where to put them', async () => {
    const at = join(dir, 'empty');
    mkdirSync(at);
    const fixtures = await fixturesWith(at);
    expect(fixtures.NO_FIXTURES).toBe(true);
    expect(fixtures.FIXTURES_DIR).toBeUndefined();
    expect(fixtures.FIXTURES_SKIPPED).toMatch(/^SKIPPED .*no fixtures in .*empty; put them in \.\.\/shared\/fixtures\/exchanges beside the repository, or set QC_FIXTURES/);
    // A lazily named fixture is not read until a test uses it.
    const lazy = fixtures.lazyFixture(() => fixtures.fixture('binance', 'rest_time.json'));
    expect(lazy).toThrow(/not marked skipIf\(NO_FIXTURES\): SKIPPED/);
  });

  it('a QC_FIXTURES that holds none stops the run (global setup) with one error naming it', async () => {
    const wrong = join(dir, 'nowhere');
    await fixturesWith(wrong);
    const { default: setup } = await import('./support/fixtures-setup.js');
    expect(setup).toThrow(`QC_FIXTURES=${wrong} holds no recorded exchange fixtures (no SOURCES.md there)`);
  });
});
