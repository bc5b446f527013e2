/**
 * Runs every benchmark in bench/ (`npm run bench`), each in its own Node process so one
 * bench's heap and JIT state do not colour the next. A benchmark is a top-level file of this
 * folder other than this one; helpers live in bench/support/. Arguments filter by name:
 * `npm run bench -- storage`. Exits non-zero only when a benchmark crashes, never on speed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const all = readdirSync(here, { withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.js') && e.name !== 'run.js')
  .map((e) => e.name.slice(0, -'.js'.length))
  .sort();
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`bench: no benchmark named ${unknown.join(', ')}; known: ${all.join(', ')}`);
  process.exit(2);
}
const benches = wanted.length > 0 ? all.filter((b) => wanted.includes(b)) : all;

const failed: string[] = [];
for (const name of benches) {
  process.stderr.write(`\n=== bench: ${name} ===\n`);
  const result = spawnSync(process.execPath, [...process.execArgv, join(here, `${name}.js`)], { stdio: 'inherit' });
  if (result.status !== 0) failed.push(`${name} (${result.error?.message ?? (result.signal ? `signal ${result.signal}` : `exit ${result.status}`)})`);
}
if (failed.length > 0) {
  console.error(`bench: failed: ${failed.join(', ')}`);
  process.exit(1);
}
