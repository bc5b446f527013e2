import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PACKAGE_DIR } from '../version.js';
import type { Route } from './types.js';

/** One file the page is made of: where it ships and how it is served. */
interface Asset {
  file: () => string;
  type: string;
}

const require = createRequire(import.meta.url);
// The page's own files ship in the package's web/ folder (package.json "files"); uPlot comes from node_modules.
const web = (name: string) => () => {
  if (!PACKAGE_DIR) throw new Error('cannot find the quoting-collector package folder (package.json) to serve the status page from');
  return join(PACKAGE_DIR, 'web', name);
};
const ASSETS: Readonly<Record<string, Asset>> = {
  '/': { file: web('index.html'), type: 'text/html; charset=utf-8' },
  '/page/app.js': { file: web('app.js'), type: 'text/javascript; charset=utf-8' },
  '/page/app.css': { file: web('app.css'), type: 'text/css; charset=utf-8' },
  '/page/uPlot.iife.min.js': { file: () => require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/page/uPlot.min.css': { file: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** Everything from this server only, no inline script, not framed. */
const HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * `GET /`: the status page (web/index.html) and its files under /page/. Static: every figure comes
 * from /status and /series, fetched by the page's script.
 */
export function pageRoutes(): Route[] {
  const cache = new Map<string, Buffer>();
  return Object.entries(ASSETS).map(([path, asset]): Route => ({
    method: 'GET',
    path,
    handle({ res, send }) {
      let body = cache.get(path);
      if (!body) {
        try {
          body = readFileSync(asset.file());
        } catch (err) {
          return send(500, { error: `status page file missing: ${(err as Error).message}` });
        }
        cache.set(path, body);
      }
      // Written as is: static files hold no secrets, and masking would alter minified code.
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache', 'content-length': body.length, ...HEADERS });
      res.end(body);
    },
  }));
}
