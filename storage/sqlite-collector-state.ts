import type Database from 'better-sqlite3';
import { checkRecord, decodeCheckpoints, overlayCheckpoints } from './collector-state.js';
import { StorageError } from './errors.js';
import type { CollectorCheckpoint, CollectorHealth, CollectorStateRecord, CollectorStateStore } from './types.js';

/**
 * The collector state tables. Created beside the sample tables without a schema version bump:
 * older builds ignore them, and a read-only opener of an older file just finds no records.
 * Checkpoints have a table of their own, one row per (collector, series), so the writer commits
 * each in the transaction of the samples it vouches for; `collector_state.checkpoints` (JSON)
 * is what earlier builds wrote, read under them.
 */
export const COLLECTOR_STATE_SCHEMA = `
CREATE TABLE IF NOT EXISTS collector_state (
  collector TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  restarts INTEGER NOT NULL,
  last_error TEXT,
  updated_at INTEGER NOT NULL,
  checkpoints TEXT NOT NULL DEFAULT '[]'
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS collector_checkpoints (
  collector TEXT NOT NULL,
  key TEXT NOT NULL,
  last_timestamp INTEGER,
  last_trade_id TEXT,
  PRIMARY KEY (collector, key)
) WITHOUT ROWID;
`;

interface CheckpointTableRow {
  collector: string;
  key: string;
  last_timestamp: number | null;
  last_trade_id: string | null;
}

interface StateRow {
  collector: string;
  state: string;
  restarts: number;
  last_error: string | null;
  updated_at: number;
  checkpoints: string;
}

/** What the store needs from the SqliteStorage that owns the connection. */
export interface SqliteStateHooks {
  path: string;
  readOnly: boolean;
  /** Throws once the storage is closed. */
  ensureOpen(call: string): void;
  /** Writes the samples buffered so far, so a checkpoint saved next is never ahead of them. */
  writePendingSamples(): Promise<void>;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Collector state in the `collector_state` table of the storage's SQLite file. Each save is
 * its own small transaction (saves come every few seconds, not per sample); any read-only
 * opener of the file can load and list.
 */
export class SqliteCollectorStateStore implements CollectorStateStore {
  private statements: ReturnType<SqliteCollectorStateStore['prepare']> | undefined;
  /** The last save under way. */
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database.Database,
    private readonly hooks: SqliteStateHooks,
  ) {}

  async load(collector: string): Promise<CollectorStateRecord | undefined> {
    this.hooks.ensureOpen('collectorState.load');
    return this.run(`load the collector state of ${collector}`, () => {
      const t = this.table();
      if (!t) return undefined;
      // One read transaction: the record and its checkpoints as of one commit.
      return this.db.transaction(() => {
        const row = t.byId.get(collector) as StateRow | undefined;
        const checkpoints = (t.checkpointsOf?.all(collector) ?? []) as CheckpointTableRow[];
        return this.decode(row, collector, checkpoints);
      })();
    });
  }

  async save(record: CollectorStateRecord): Promise<void> {
    this.hooks.ensureOpen('collectorState.save');
    if (this.hooks.readOnly) throw new StorageError(`SQLite database ${this.hooks.path} is open read-only: collectorState.save() is not allowed`);
    checkRecord(record);
    // Saves land in call order: each waits for the samples to commit, and an earlier save
    // finishing after a later one would put back an old state.
    await this.write(record, record.checkpoints.map((c) => ({ ...c })));
  }

  async saveHealth(health: CollectorHealth): Promise<void> {
    this.hooks.ensureOpen('collectorState.saveHealth');
    if (this.hooks.readOnly) throw new StorageError(`SQLite database ${this.hooks.path} is open read-only: collectorState.saveHealth() is not allowed`);
    checkRecord({ ...health, checkpoints: [] });
    await this.write({ ...health }, undefined);
  }

  /**
   * Writes a record's health and, unless undefined, replaces its checkpoints: as taken when
   * called, once the samples accepted before are committed. Saves land in call order: an earlier
   * save finishing after a later one would put back an old state.
   */
  private write(health: CollectorHealth, checkpoints: CollectorCheckpoint[] | undefined): Promise<void> {
    const row = [health.collector, health.state, health.restarts, health.lastError, health.updatedAt] as const;
    const done = this.saving.then(async () => {
      await this.hooks.writePendingSamples();
      this.run(`save the collector state of ${health.collector}`, () => {
        const t = this.table()!;
        this.db
          .transaction(() => {
            t.upsert.run(...row);
            if (!checkpoints) return;
            t.clearLegacyCheckpoints.run(health.collector);
            // A writer created the table when it opened the file.
            t.deleteCheckpoints!.run(health.collector);
            for (const c of checkpoints) t.upsertCheckpoint!.run(health.collector, c.key, c.lastTimestamp ?? null, c.lastTradeId ?? null);
          })
          .immediate();
      });
    });
    this.saving = done.catch(() => undefined);
    return done;
  }

  async list(): Promise<CollectorStateRecord[]> {
    this.hooks.ensureOpen('collectorState.list');
    return this.run('list the collector states', () => {
      const t = this.table();
      if (!t) return [];
      return this.db.transaction(() => {
        const rows = new Map((t.all.all() as StateRow[]).map((row) => [row.collector, row]));
        const checkpoints = new Map<string, CheckpointTableRow[]>();
        for (const c of (t.allCheckpoints?.all() ?? []) as CheckpointTableRow[]) {
          let of = checkpoints.get(c.collector);
          if (!of) checkpoints.set(c.collector, (of = []));
          of.push(c);
        }
        const ids = [...new Set([...rows.keys(), ...checkpoints.keys()])].sort();
        return ids.map((id) => this.decode(rows.get(id), id, checkpoints.get(id) ?? [])!);
      })();
    });
  }

  /** The prepared statements, or undefined while the file has no such table (an older file opened read-only). */
  private table() {
    if (!this.statements) {
      const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'collector_state'").get();
      if (exists) this.statements = this.prepare();
    }
    return this.statements;
  }

  private prepare() {
    const columns = 'collector, state, restarts, last_error, updated_at, checkpoints';
    const db = this.db;
    // A file opened read-only may come from a build before the checkpoints table.
    const hasCheckpoints = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'collector_checkpoints'").get() !== undefined;
    const checkpointColumns = 'collector, key, last_timestamp, last_trade_id';
    return {
      byId: db.prepare(`SELECT ${columns} FROM collector_state WHERE collector = ?`),
      all: db.prepare(`SELECT ${columns} FROM collector_state ORDER BY collector`),
      // Health only: the JSON checkpoints of earlier builds stay readable under the table's rows.
      upsert: db.prepare(`INSERT INTO collector_state (collector, state, restarts, last_error, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (collector) DO UPDATE SET state = excluded.state, restarts = excluded.restarts,
          last_error = excluded.last_error, updated_at = excluded.updated_at`),
      clearLegacyCheckpoints: db.prepare(`UPDATE collector_state SET checkpoints = '[]' WHERE collector = ?`),
      ...(hasCheckpoints
        ? {
            checkpointsOf: db.prepare(`SELECT ${checkpointColumns} FROM collector_checkpoints WHERE collector = ?`),
            allCheckpoints: db.prepare(`SELECT ${checkpointColumns} FROM collector_checkpoints`),
            deleteCheckpoints: db.prepare(`DELETE FROM collector_checkpoints WHERE collector = ?`),
            upsertCheckpoint: db.prepare(`INSERT INTO collector_checkpoints (${checkpointColumns}) VALUES (?, ?, ?, ?)
              ON CONFLICT (collector, key) DO UPDATE SET last_timestamp = excluded.last_timestamp, last_trade_id = excluded.last_trade_id`),
          }
        : {}),
    };
  }

  /**
   * A stored record (undefined when neither its row nor a checkpoint exists): a save replaced the
   * JSON checkpoints with '[]', so rows of the table go over what an earlier build left there.
   */
  private decode(row: StateRow | undefined, collector: string, checkpoints: CheckpointTableRow[]): CollectorStateRecord | undefined {
    if (!row && checkpoints.length === 0) return undefined;
    const legacy = row ? decodeCheckpoints(row.checkpoints, `of ${collector} in ${this.hooks.path}`) : [];
    return {
      collector,
      state: row?.state ?? 'unknown',
      restarts: row?.restarts ?? 0,
      lastError: row?.last_error ?? null,
      updatedAt: row?.updated_at ?? 0,
      checkpoints: overlayCheckpoints(
        legacy,
        checkpoints.map((c) => ({ key: c.key, lastTimestamp: c.last_timestamp ?? undefined, lastTradeId: c.last_trade_id ?? undefined })),
      ),
    };
  }

  /** Runs a statement; an SQLite failure becomes a StorageError saying what and where. */
  private run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new StorageError(`cannot ${what} in ${this.hooks.path}: ${message(err)}`);
    }
  }
}
