/**
 * Keeps Redis in step with the series catalog: creates each field key once per process
 * (TS.CREATE with its duplicate policy, retention, encoding, chunk size and labels),
 * verifies keys that already exist (TS.INFO), alters retention and labels when a
 * declaration changes them, and stores the schema hash and the series set.
 */
import { ErrorReply } from 'redis';
import type { SeriesSchema } from '../catalog.js';
import { StorageError } from '../errors.js';
import type { MergePolicy } from '../types.js';
import { describeError, type CredentialMask, type RedisConnection } from './connect.js';
import {
  chunkSizeFor,
  decodeSchema,
  duplicatePolicy,
  encodeSchema,
  fieldKey,
  keyLabels,
  parseInfo,
  sameLabels,
  schemaKey,
  SERIES_SET,
  type FieldKeyInfo,
} from './layout.js';

/** What this process knows a field key in Redis holds. */
interface KnownFieldKey {
  retentionMs: number;
  labels: Array<[string, string]>;
}

const isMissingKey = (err: unknown) => err instanceof ErrorReply && /does not exist/i.test(err.message);
const isExistingKey = (err: unknown) => err instanceof ErrorReply && /already exists/i.test(err.message);
const settle = <T>(promise: Promise<T>): Promise<T | Error> => promise.catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));

/** Creates, verifies and describes series in Redis; a cache makes each step happen once. */
export class SeriesSchemas {
  /** Field keys created or verified by this process, with what they hold. */
  private readonly known = new Map<string, KnownFieldKey>();
  /** Series → the schema (as JSON) last written to Redis by this process. */
  private readonly persisted = new Map<string, string>();
  /** Series → the ensure in progress, so steps for one series never interleave. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly client: RedisConnection,
    private readonly mask: CredentialMask,
  ) {}

  /**
   * Makes Redis hold `schema`: missing field keys created, existing ones verified, retention
   * and labels current, schema hash and series set written. A refusal (a key with another
   * duplicate policy, a key that is not a TimeSeries) throws a StorageError naming the key;
   * Redis being unreachable throws the client's error, and the next call tries again.
   */
  ensure(schema: SeriesSchema): Promise<void> {
    const previous = this.running.get(schema.key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.ensureNow(schema));
    this.running.set(schema.key, next);
    const cleanup = () => {
      if (this.running.get(schema.key) === next) this.running.delete(schema.key);
    };
    next.then(cleanup, cleanup);
    return next;
  }

  /** True when `schema` is already in Redis as far as this process knows. */
  isCurrent(schema: SeriesSchema): boolean {
    return this.persisted.get(schema.key) === JSON.stringify(schema);
  }

  /** Forgets what this process knows about a series (its keys vanished or changed behind its back). */
  forget(series: string, fields: readonly string[]): void {
    this.persisted.delete(series);
    for (const f of fields) this.known.delete(fieldKey(series, f));
  }

  /**
   * Throws a StorageError when a field key of `series` already exists in Redis with another
   * duplicate policy than `fields` asks for, or is not a TimeSeries at all. Keys this
   * process created or verified are not asked again.
   */
  async checkPolicies(series: string, fields: Readonly<Record<string, MergePolicy>>): Promise<void> {
    const unknown = Object.entries(fields).filter(([f]) => !this.known.has(fieldKey(series, f)));
    const infos = await Promise.all(unknown.map(([f]) => settle(this.client.send(fieldKey(series, f), ['TS.INFO', fieldKey(series, f)]))));
    unknown.forEach(([field, policy], i) => {
      const reply = infos[i];
      if (isMissingKey(reply)) return;
      this.verify(series, field, policy, reply);
    });
  }

  /** The schema of `series` as stored in Redis (for readers); undefined when there is none. */
  async read(series: string): Promise<SeriesSchema | undefined> {
    return decodeSchema(series, await this.client.send(schemaKey(series), ['HGETALL', schemaKey(series)]));
  }

  /**
   * Every series stored in Redis, from the series set and their schema hashes. The set is
   * one key (one cluster slot); each hash is read on its own, routed to its series' slot.
   */
  async readAll(): Promise<SeriesSchema[]> {
    const keys = ((await this.client.send(SERIES_SET, ['SMEMBERS', SERIES_SET])) as unknown[]).map(String).sort();
    const hashes = await Promise.all(keys.map((k) => this.client.send(schemaKey(k), ['HGETALL', schemaKey(k)])));
    return keys.flatMap((k, i) => decodeSchema(k, hashes[i]) ?? []);
  }

  private async ensureNow(schema: SeriesSchema): Promise<void> {
    const json = JSON.stringify(schema);
    if (this.persisted.get(schema.key) === json) return;
    const fields = Object.entries(schema.fields);
    const toCreate = fields.filter(([f]) => !this.known.has(fieldKey(schema.key, f)));
    const created = await Promise.all(toCreate.map(([f, p]) => settle(this.client.send(fieldKey(schema.key, f), tsCreateCommand(schema, f, p)))));
    const existing: Array<[string, MergePolicy]> = [];
    toCreate.forEach(([field, policy], i) => {
      const reply = created[i];
      if (isExistingKey(reply)) existing.push([field, policy]);
      else if (reply instanceof ErrorReply) throw this.refusal(schema.key, field, `cannot create it: ${describeError(reply, this.mask)}`);
      else if (reply instanceof Error) throw reply; // unreachable: retried later
      else this.known.set(fieldKey(schema.key, field), { retentionMs: schema.retentionMs, labels: keyLabels(schema, field) });
    });
    const infos = await Promise.all(existing.map(([f]) => settle(this.client.send(fieldKey(schema.key, f), ['TS.INFO', fieldKey(schema.key, f)]))));
    existing.forEach(([field, policy], i) => this.verify(schema.key, field, policy, infos[i]));

    // Bring retention and labels of every field key up to the schema (a declaration may change them).
    const alters = fields.flatMap(([field]) => {
      const key = fieldKey(schema.key, field);
      const known = this.known.get(key)!;
      const labels = keyLabels(schema, field);
      if (known.retentionMs === schema.retentionMs && sameLabels(known.labels, labels)) return [];
      return [{ key, labels, command: ['TS.ALTER', key, 'RETENTION', String(schema.retentionMs), 'LABELS', ...labels.flat()] }];
    });
    const altered = await Promise.all(alters.map((a) => settle(this.client.send(a.key, a.command))));
    alters.forEach((a, i) => {
      const reply = altered[i];
      if (reply instanceof ErrorReply) throw this.refusal(schema.key, a.key, `cannot alter it: ${describeError(reply, this.mask)}`, true);
      if (reply instanceof Error) throw reply;
      this.known.set(a.key, { retentionMs: schema.retentionMs, labels: a.labels });
    });

    // The hash first: a reader that finds the key in the set always finds its schema. Two
    // commands, not a MULTI: the set and the hash sit in different cluster slots.
    await this.client.send(schemaKey(schema.key), ['HSET', schemaKey(schema.key), ...encodeSchema(schema)]);
    await this.client.send(SERIES_SET, ['SADD', SERIES_SET, schema.key]);
    this.persisted.set(schema.key, json);
  }

  /** Records an existing key after checking its TS.INFO reply; throws when it cannot be used. */
  private verify(series: string, field: string, policy: MergePolicy, reply: unknown): void {
    if (reply instanceof ErrorReply) {
      const why = /WRONGTYPE|not a TSDB key/i.test(reply.message) ? 'it exists but is not a TimeSeries' : describeError(reply, this.mask);
      throw this.refusal(series, field, why);
    }
    if (reply instanceof Error) throw reply;
    const info: FieldKeyInfo = parseInfo(reply);
    const wanted = duplicatePolicy(policy);
    if (info.duplicatePolicy !== policy) {
      const has = info.duplicatePolicy ? info.duplicatePolicy.toUpperCase() : 'none (the server default)';
      throw this.refusal(
        series,
        field,
        `it already exists with DUPLICATE_POLICY ${has}, but field ${field} merges with ${policy} (DUPLICATE_POLICY ${wanted}); ` +
          `delete the key or declare the field with the policy it has`,
      );
    }
    this.known.set(fieldKey(series, field), { retentionMs: info.retentionMs, labels: info.labels });
  }

  private refusal(series: string, fieldOrKey: string, why: string, isKey = false): StorageError {
    const key = isKey ? fieldOrKey : fieldKey(series, fieldOrKey);
    return new StorageError(`series ${series}: Redis key ${key}: ${why}`, series);
  }
}

/** The TS.CREATE of one field key: its merge policy as DUPLICATE_POLICY, retention, compression, labels. */
export function tsCreateCommand(schema: SeriesSchema, field: string, policy: MergePolicy): string[] {
  return [
    'TS.CREATE', fieldKey(schema.key, field),
    'RETENTION', String(schema.retentionMs),
    'ENCODING', 'COMPRESSED',
    'CHUNK_SIZE', String(chunkSizeFor(schema)),
    'DUPLICATE_POLICY', duplicatePolicy(policy),
    'LABELS', ...keyLabels(schema, field).flat(),
  ];
}
