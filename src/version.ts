import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's folder and version, from the nearest package.json above this file (works from src and dist). */
const found: { dir: string | undefined; version: string } = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'quoting-collector') return { dir, version: pkg.version ?? '0.0.0' };
    }
  }
  return { dir: undefined, version: '0.0.0' };
})();

export const VERSION: string = found.version;

/** The installed package's root (where `web/` and `config/` ship), or undefined when its package.json cannot be found. */
export const PACKAGE_DIR: string | undefined = found.dir;
