import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// `npm run lint` with the project's own config, on source text placed at a path of the repository.
const eslint = new ESLint();

async function layerErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId?.startsWith('layers/')).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('npm run lint keeps the folders in one direction', () => {
  it('refuses an import of a higher layer', async () => {
    const errors = await layerErrors('storage/back-import.ts', "import type { Feed } from '../feeds/types.js';\nexport type F = Feed;\n");
    expect(errors).toEqual([expect.stringMatching(/^layers\/one-direction: storage\/ imports only common\/, not feeds\/types\.ts/)]);
  });

  it('lets a layer import those below it, and tests import anything', async () => {
    expect(await layerErrors('feeds/down.ts', "import type { DataRequirement } from '../collectors/types.js';\nexport type R = DataRequirement;\n")).toEqual([]);
    expect(await layerErrors('test/any.test.ts', "import { Registry } from '../src/registry.js';\nexport const R = Registry;\n")).toEqual([]);
  });

  it('refuses reaching past a folder’s index.ts', async () => {
    const errors = await layerErrors('src/reach.ts', "export { RedisCollectorStateStore } from '../storage/redis-timeseries/collector-state.js';\n");
    expect(errors).toEqual([expect.stringContaining('import its public entry storage/redis-timeseries/index.ts')]);
  });

  it('refuses an import cycle, type-only imports included', async () => {
    // sqlite-writer.ts imports sqlite-rows.ts: sqlite-rows.ts importing it back closes a loop.
    const errors = await layerErrors('storage/sqlite-rows.ts', "import type { WriteBatch } from './sqlite-writer.js';\nexport type B = WriteBatch;\n");
    expect(errors).toEqual(['layers/no-cycle: import cycle: storage/sqlite-rows.ts -> storage/sqlite-writer.ts -> storage/sqlite-rows.ts']);
  });

  it('refuses an engine importing an exchange: it gets the Exchange object handed in', async () => {
    const errors = await layerErrors('collectors/trades/reach.ts', "import { binance } from '../exchanges/index.js';\nexport const b = binance;\n");
    expect(errors).toEqual([expect.stringMatching(/^layers\/no-reach: collectors\/trades\/reach\.ts may not import collectors\/exchanges\/index\.ts: an engine gets its exchange/)]);
    expect(await layerErrors('collectors/kinds.ts', "import { builtInExchanges } from './exchanges/index.js';\nexport const e = builtInExchanges;\n")).toEqual([]);
  });
});
