// The import direction of the project's folders, checked by `npm run lint` (see eslint.config.js).
//   layers/one-direction: a layer imports only the layers below it; a folder holding an index.ts
//     is entered from outside only through that file.
//   layers/no-cycle: no file reaches itself through its imports (type-only imports count).
//   layers/no-reach: inside a layer, the files of some folders may not import another folder
//     (the engines of collectors/ never import collectors/exchanges/).
// Every relative import counts, `import type` too; a package import is no edge.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = dirname(fileURLToPath(import.meta.url));

/** The file a relative specifier names (`./x.js` is `./x.ts` in the sources), or undefined for a package. */
function resolveImport(fromFile, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const target = resolve(dirname(fromFile), specifier);
  const typescript = target.replace(/\.js$/, '.ts');
  return typescript !== target && existsSync(typescript) ? typescript : target;
}

/** `storage/sqlite.ts`: a path as the messages show it. */
const shown = (file) => relative(ROOT, file).split(sep).join('/');
const topFolder = (file) => {
  const parts = relative(ROOT, file).split(sep);
  return parts.length > 1 && parts[0] !== '..' ? parts[0] : undefined;
};

/** Every import node of a file with its literal specifier: imports, re-exports, `import()`. */
function importVisitor(report) {
  const check = (node) => {
    if (node.source && node.source.type === 'Literal' && typeof node.source.value === 'string') report(node, node.source.value);
  };
  return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
}

/** The index.ts of the deepest folder holding `target` that `file` is outside of, when `target` is not it. */
function skippedEntry(file, target) {
  for (let dir = dirname(target); dir.startsWith(ROOT + sep); dir = dirname(dir)) {
    if ((file + sep).startsWith(dir + sep)) return undefined;
    const entry = join(dir, 'index.ts');
    if (entry !== target && existsSync(entry)) return entry;
  }
  return undefined;
}

const oneDirection = {
  meta: {
    type: 'problem',
    docs: { description: 'each layer imports only the layers below it, and a folder with an index.ts only through it' },
    schema: [
      {
        type: 'object',
        properties: {
          layers: { type: 'array', items: { type: 'string' } },
          free: { type: 'array', items: { type: 'string' } },
        },
        additionalProperties: false,
      },
    ],
  },
  create(context) {
    const { layers = [], free = [] } = context.options[0] ?? {};
    const file = context.filename;
    const from = topFolder(file);
    if (free.includes(from) || !layers.includes(from)) return {};
    const order = `layers from the bottom: ${layers.map((l) => `${l}/`).join(', ')}`;
    return importVisitor((node, specifier) => {
      const target = resolveImport(file, specifier);
      if (target === undefined) return;
      const to = topFolder(target);
      if (to !== from && !(layers.includes(to) && layers.indexOf(to) < layers.indexOf(from))) {
        const below = layers.slice(0, layers.indexOf(from)).map((l) => `${l}/`);
        const may = below.length > 0 ? `imports only ${below.join(', ')}` : 'imports no other folder';
        context.report({ node, message: `${from}/ ${may}, not ${shown(target)} (${order}; ${free.map((f) => `${f}/`).join(' and ')} may import any)` });
        return;
      }
      const entry = skippedEntry(file, target);
      if (entry !== undefined) {
        context.report({ node, message: `${shown(target)} is inside ${shown(dirname(entry))}/: import its public entry ${shown(entry)}` });
      }
    });
  },
};

/** Each file's relative imports, read from disk and kept while the file is unchanged. */
const importsOnDisk = new Map();
function importsOf(file) {
  let mtime;
  try {
    mtime = statSync(file).mtimeMs;
  } catch {
    return [];
  }
  const cached = importsOnDisk.get(file);
  if (cached && cached.mtime === mtime) return cached.targets;
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const targets = importedFiles.map((imported) => resolveImport(file, imported.fileName)).filter((target) => target !== undefined);
  importsOnDisk.set(file, { mtime, targets });
  return targets;
}

/** A shortest chain of imports from `start` back to `file`, or undefined when there is none. */
function chainBack(start, file) {
  const cameFrom = new Map([[start, undefined]]);
  for (let queue = [start]; queue.length > 0; ) {
    const next = [];
    for (const current of queue) {
      for (const target of importsOf(current)) {
        if (target === file) {
          const chain = [current];
          for (let step = cameFrom.get(current); step !== undefined; step = cameFrom.get(step)) chain.unshift(step);
          return chain;
        }
        if (!cameFrom.has(target)) {
          cameFrom.set(target, current);
          next.push(target);
        }
      }
    }
    queue = next;
  }
  return undefined;
}

const noCycle = {
  meta: { type: 'problem', docs: { description: 'no file reaches itself through its imports' }, schema: [] },
  create(context) {
    const file = context.filename;
    return importVisitor((node, specifier) => {
      const target = resolveImport(file, specifier);
      if (target === undefined || !existsSync(target)) return;
      const chain = target === file ? [] : chainBack(target, file);
      if (chain === undefined) return;
      context.report({ node, message: `import cycle: ${[file, ...chain, file].map(shown).join(' -> ')}` });
    });
  },
};

/** `file` is `path` or inside it (paths relative to the repository, with `/`). */
const within = (file, path) => file === path || file.startsWith(`${path}/`);

const noReach = {
  meta: {
    type: 'problem',
    docs: { description: 'the files of some folders may not import another folder' },
    schema: [
      {
        type: 'object',
        properties: {
          zones: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                from: { type: 'array', items: { type: 'string' } },
                except: { type: 'array', items: { type: 'string' } },
                to: { type: 'string' },
                why: { type: 'string' },
              },
              required: ['from', 'to', 'why'],
              additionalProperties: false,
            },
          },
        },
        additionalProperties: false,
      },
    ],
  },
  create(context) {
    const file = shown(context.filename);
    const zones = (context.options[0]?.zones ?? []).filter(
      (zone) => zone.from.some((path) => within(file, path)) && !(zone.except ?? []).some((path) => within(file, path)),
    );
    if (zones.length === 0) return {};
    return importVisitor((node, specifier) => {
      const target = resolveImport(context.filename, specifier);
      if (target === undefined) return;
      const zone = zones.find((z) => within(shown(target), z.to));
      if (zone) context.report({ node, message: `${file} may not import ${shown(target)}: ${zone.why}` });
    });
  },
};

export default { rules: { 'one-direction': oneDirection, 'no-cycle': noCycle, 'no-reach': noReach } };
