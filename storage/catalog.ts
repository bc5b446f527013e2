import { StorageError } from './errors.js';
import { SCALAR_FIELD, type MergePolicy, type SeriesDeclaration } from './types.js';
import { checkDeclaration } from './validation.js';

const { hasOwnProperty } = Object.prototype;

/** A series as a backend keeps it: field policies, retention, labels, and whether it was declared. */
export interface SeriesSchema {
  key: string;
  fields: Record<string, MergePolicy>;
  retentionMs: number;
  labels: Record<string, string>;
  declared: boolean;
}

/**
 * The in-process view of which series exist and how their fields merge: declarations,
 * series created on first write (`last` everywhere), and the checks a write must pass.
 * Backends persist what `declare`/`resolve` report as changed.
 */
export class SeriesCatalog {
  private readonly series = new Map<string, SeriesSchema>();
  // knownPoint's memo: writers send a series' fields in the same order every time, and the same
  // series many times in a row. A shape holds the field names of the last point a series took
  // (each one a field of its schema: a schema that changes drops its shape).
  private readonly shapes = new Map<string, string[]>();
  private lastKey: string | undefined;
  private lastSchema: SeriesSchema | undefined;
  private lastShape: string[] = [];

  /** Loads a series the backend already holds (at open). */
  load(schema: SeriesSchema): void {
    this.put(schema);
  }

  /** Adds or replaces a series' schema. */
  private put(schema: SeriesSchema): void {
    this.series.set(schema.key, schema);
    this.shapes.delete(schema.key);
    this.lastKey = undefined;
    this.lastSchema = undefined;
  }

  get(key: string): SeriesSchema | undefined {
    return key === this.lastKey ? this.lastSchema : this.series.get(key);
  }

  all(): SeriesSchema[] {
    return [...this.series.values()];
  }

  /** Applies a declaration; returns the schema to persist, or undefined when nothing changed. */
  declare(decl: SeriesDeclaration): SeriesSchema | undefined {
    checkDeclaration(decl);
    const existing = this.series.get(decl.key);
    const next: SeriesSchema = {
      key: decl.key,
      fields: { ...(existing?.fields ?? {}) },
      retentionMs: decl.retentionMs ?? 0,
      labels: { ...(decl.labels ?? {}) },
      declared: true,
    };
    for (const [field, policy] of Object.entries(decl.fields)) {
      // hasOwn: a field may be named like an Object.prototype member (`constructor`).
      const had = existing && Object.hasOwn(existing.fields, field) ? existing.fields[field] : undefined;
      if (had !== undefined && had !== policy) {
        throw new StorageError(
          `series ${decl.key} already has field ${field} with merge policy ${had}; the declaration asks for ${policy}`,
          decl.key,
        );
      }
      next.fields[field] = policy;
    }
    if (existing && sameSchema(existing, next)) return undefined;
    this.put(next);
    return next;
  }

  /**
   * The field policies of a point that a declared series takes as it is: a record of finite
   * numbers, every field one the series has, at a valid timestamp. Undefined otherwise: the point
   * then needs the full checks (checkKey, checkTimestamp, toFields, resolve), which throw the
   * exact error. The key and the field names were checked once, when the series was declared,
   * so a well-formed point costs no pattern match here.
   */
  knownPoint(key: unknown, value: unknown, timestamp: unknown): Record<string, MergePolicy> | undefined {
    if (typeof key !== 'string') return undefined;
    if (key !== this.lastKey) {
      const found = this.series.get(key);
      if (found === undefined || !found.declared) return undefined;
      let shape = this.shapes.get(key);
      if (shape === undefined) this.shapes.set(key, (shape = []));
      this.lastKey = key;
      this.lastSchema = found;
      this.lastShape = shape;
    }
    const schema = this.lastSchema!;
    const shape = this.lastShape;
    if (typeof timestamp !== 'number' || !Number.isInteger(timestamp) || timestamp < 0 || timestamp > Number.MAX_SAFE_INTEGER) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const { fields } = schema;
    let count = 0;
    for (const name in value) {
      // Own fields only, as Object.entries (toFields) sees them (the `.call` form V8 reduces to a
      // map check in a for-in); hasOwn on the policies: `constructor` is a valid field name.
      if (!hasOwnProperty.call(value, name)) return undefined;
      if (name !== shape[count]) {
        if (!Object.hasOwn(fields, name)) return undefined;
        shape[count] = name;
      }
      const v = (value as Record<string, unknown>)[name];
      if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
      count += 1;
    }
    return count > 0 ? fields : undefined;
  }

  /**
   * Checks a write's fields against the series and returns their policies; creates an
   * undeclared series (or new fields of one) with policy `last`. `created` is the schema
   * to persist when something was added.
   */
  resolve(key: string, fields: Record<string, number>): { policies: Record<string, MergePolicy>; created?: SeriesSchema } {
    const schema = this.series.get(key);
    const names = Object.keys(fields);
    if (!schema) {
      const created: SeriesSchema = { key, fields: {}, retentionMs: 0, labels: {}, declared: false };
      for (const n of names) created.fields[n] = 'last';
      this.put(created);
      return { policies: created.fields, created };
    }
    const scalar = isScalar(schema);
    let missing: string[] | undefined;
    for (const n of names) if (!Object.hasOwn(schema.fields, n)) (missing ??= []).push(n);
    if (!missing) return { policies: schema.fields };
    if (scalar || names.length === 1 && names[0] === SCALAR_FIELD) {
      throw new StorageError(
        scalar
          ? `series ${key} holds single numbers; got a record with fields ${names.join(',')}`
          : `series ${key} holds records with fields ${Object.keys(schema.fields).join(',')}; got a single number`,
        key,
      );
    }
    if (schema.declared) {
      throw new StorageError(
        `series ${key} has no field ${missing.join(',')}; declared fields: ${Object.keys(schema.fields).join(',')}`,
        key,
      );
    }
    const created: SeriesSchema = { ...schema, fields: { ...schema.fields } };
    for (const n of missing) created.fields[n] = 'last';
    this.put(created);
    return { policies: created.fields, created };
  }
}

function isScalar(schema: SeriesSchema): boolean {
  const names = Object.keys(schema.fields);
  return names.length === 1 && names[0] === SCALAR_FIELD;
}

function sameSchema(a: SeriesSchema, b: SeriesSchema): boolean {
  return (
    a.declared === b.declared &&
    a.retentionMs === b.retentionMs &&
    JSON.stringify(Object.entries(a.fields).sort()) === JSON.stringify(Object.entries(b.fields).sort()) &&
    JSON.stringify(Object.entries(a.labels).sort()) === JSON.stringify(Object.entries(b.labels).sort())
  );
}
