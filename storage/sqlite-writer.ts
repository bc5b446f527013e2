import Database from 'better-sqlite3';
import { registerMergeFunction, upsertSql, type SeriesRowsBatch } from './sqlite-rows.js';

/** A series whose row in the `series` table is (re)written with a batch. */
export interface SeriesSchemaRow {
  key: string;
  /** JSON of field → merge policy. */
  fields: string;
  /** JSON of the column order. */
  columns: string;
  retentionMs: number;
  /** JSON of the labels. */
  labels: string;
  declared: boolean;
}

/** A collector's checkpoint of one series, committed with the rows of the same batch. */
export interface CheckpointRow {
  collector: string;
  key: string;
  lastTimestamp: number | null;
  lastTradeId: string | null;
}

/** What one write transaction holds. */
export interface WriteBatch {
  schemas: SeriesSchemaRow[];
  rows: SeriesRowsBatch[];
  /** Written in the same transaction as the rows: a checkpoint and its samples commit together or not at all. */
  checkpoints: CheckpointRow[];
}

/** Rows per multi-row upsert statement, largest first (3 parameters a row; 1 ends any remainder). */
const UPSERT_ROWS = [256, 64, 16, 4, 1];

/**
 * Writes batches of packed sample rows into a collector SQLite file (schema created by
 * SqliteStorage), each batch in one transaction, on a connection of its own: SqliteStorage runs
 * it in a worker thread, so SQLite's work overlaps the event loop's.
 */
export class SqliteRowWriter {
  private readonly db: Database.Database;
  private readonly seriesIds = new Map<string, number>();
  /** Multi-row upserts by policy letters and row count, prepared on first use. */
  private readonly upserts = new Map<string, Database.Statement>();
  /** Statement parameters by row count, reused. */
  private readonly params = new Map<number, unknown[]>();
  private readonly stmt;
  private readonly transaction: Database.Transaction<(batch: WriteBatch, newSeries: Map<string, number>) => void>;

  constructor(path: string, busyTimeoutMs: number) {
    this.db = new Database(path, { fileMustExist: true });
    try {
      this.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      this.db.pragma('synchronous = NORMAL');
      registerMergeFunction(this.db);
      const db = this.db;
      this.stmt = {
        seriesIds: db.prepare('SELECT key, id FROM series').raw(),
        upsertSeries: db.prepare(`INSERT INTO series (key, fields, columns, retention_ms, labels, declared) VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT (key) DO UPDATE SET fields = excluded.fields, columns = excluded.columns, retention_ms = excluded.retention_ms,
            labels = excluded.labels, declared = excluded.declared
          RETURNING id`).pluck(),
        seriesById: db.prepare('SELECT retention_ms, newest FROM series WHERE id = ?'),
        bumpNewest: db.prepare('UPDATE series SET newest = max(coalesce(newest, ?), ?) WHERE id = ?'),
        prune: db.prepare('DELETE FROM samples WHERE series_id = ? AND ts < ?'),
        upsertCheckpoint: db.prepare(`INSERT INTO collector_checkpoints (collector, key, last_timestamp, last_trade_id) VALUES (?, ?, ?, ?)
          ON CONFLICT (collector, key) DO UPDATE SET last_timestamp = excluded.last_timestamp, last_trade_id = excluded.last_trade_id`),
      };
      for (const [key, id] of this.stmt.seriesIds.all() as Array<[string, number]>) this.seriesIds.set(key, id);
      this.transaction = this.db.transaction((batch, newSeries) => this.writeInTransaction(batch, newSeries));
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /** Writes a batch in one transaction; throws (having written nothing) when SQLite refuses it. */
  write(batch: WriteBatch): void {
    const newSeries = new Map<string, number>();
    this.transaction.immediate(batch, newSeries);
    // Ids become known only once committed: a rolled-back transaction must not leave stale ones.
    for (const [key, id] of newSeries) this.seriesIds.set(key, id);
  }

  close(): void {
    this.db.close();
  }

  private writeInTransaction(batch: WriteBatch, newSeries: Map<string, number>): void {
    const seriesId = (key: string) => {
      const id = newSeries.get(key) ?? this.seriesIds.get(key);
      if (id === undefined) throw new Error(`series ${key} has rows but no row in the series table`);
      return id;
    };
    for (const s of batch.schemas) {
      newSeries.set(s.key, this.stmt.upsertSeries.get(s.key, s.fields, s.columns, s.retentionMs, s.labels, s.declared ? 1 : 0) as number);
    }
    // Series by series (rows of different series never conflict), each one's rows in arrival order.
    const newest = new Map<number, number>();
    for (const rows of batch.rows) {
      const sid = seriesId(rows.key);
      this.upsertRows(sid, rows);
      newest.set(sid, Math.max(rows.newest, newest.get(sid) ?? -Infinity));
    }
    for (const [sid, ts] of newest) this.stmt.bumpNewest.run(ts, ts, sid);
    // Retention: drop what is older than newest − retention, for series written or re-declared.
    const touched = new Set([...newest.keys(), ...batch.schemas.map((s) => seriesId(s.key))]);
    for (const sid of touched) {
      const s = this.stmt.seriesById.get(sid) as { retention_ms: number; newest: number | null };
      if (s.retention_ms && s.newest !== null) this.stmt.prune.run(sid, s.newest - s.retention_ms);
    }
    for (const c of batch.checkpoints) this.stmt.upsertCheckpoint.run(c.collector, c.key, c.lastTimestamp, c.lastTradeId);
  }

  /**
   * Upserts one series' rows: multi-row INSERT … ON CONFLICT statements, one native call per up
   * to UPSERT_ROWS[0] rows instead of one per row.
   */
  private upsertRows(sid: number, rows: SeriesRowsBatch): void {
    const { data, width, length, letters } = rows;
    const stride = width + 1;
    let done = 0;
    for (const size of UPSERT_ROWS) {
      if (length - done < size) continue;
      const cacheKey = `${letters}|${size}`;
      let stmt = this.upserts.get(cacheKey);
      if (!stmt) this.upserts.set(cacheKey, (stmt = this.db.prepare(upsertSql(letters, size))));
      let params = this.params.get(size);
      if (!params) this.params.set(size, (params = new Array<unknown>(size * 3)));
      for (; length - done >= size; done += size) {
        for (let i = 0, at = done * stride; i < size; i++, at += stride) {
          params[i * 3] = sid;
          params[i * 3 + 1] = data[at];
          // A view, not a copy: SQLite copies the bytes when it binds them.
          params[i * 3 + 2] = data.subarray(at + 1, at + stride);
        }
        stmt.run(params);
      }
    }
  }
}
