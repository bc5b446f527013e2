import type Database from 'better-sqlite3';
import { checkRecord, decodeCheckpoints, encodeCheckpoints } from './collector-state.js';
import { StorageError } from './errors.js';
import type { CollectorStateRecord, CollectorStateStore } from './types.js';

/**
 * The collector state table. Created beside the sample tables without a schema version bump:
 * older builds ignore it, and a read-only opener of an older file just finds no records.
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
`;

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
    const row = this.run(`load the collector state of ${collector}`, () => this.table()?.byId.get(collector) as StateRow | undefined);
    return row && this.decode(row);
  }

  async save(record: CollectorStateRecord): Promise<void> {
    this.hooks.ensureOpen('collectorState.save');
    if (this.hooks.readOnly) throw new StorageError(`SQLite database ${this.hooks.path} is open read-only: collectorState.save() is not allowed`);
    checkRecord(record);
    // Saves land in call order: each waits for the samples to commit, and an earlier save
    // finishing after a later one would put back an old state.
    const row = [record.collector, record.state, record.restarts, record.lastError, record.updatedAt, encodeCheckpoints(record.checkpoints)] as const;
    const done = this.saving.then(() => this.write(row));
    this.saving = done.catch(() => undefined);
    await done;
  }

  /** Writes a record (as taken when save was called) once the samples before it are committed. */
  private async write(row: readonly [collector: string, ...values: unknown[]]): Promise<void> {
    await this.hooks.writePendingSamples();
    this.run(`save the collector state of ${row[0]}`, () => {
      const { upsert } = this.table()!;
      this.db.transaction(() => upsert.run(...row)).immediate();
    });
  }

  async list(): Promise<CollectorStateRecord[]> {
    this.hooks.ensureOpen('collectorState.list');
    const rows = this.run('list the collector states', () => (this.table()?.all.all() ?? []) as StateRow[]);
    return rows.map((row) => this.decode(row));
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
    return {
      byId: this.db.prepare(`SELECT ${columns} FROM collector_state WHERE collector = ?`),
      all: this.db.prepare(`SELECT ${columns} FROM collector_state ORDER BY collector`),
      upsert: this.db.prepare(`INSERT INTO collector_state (${columns}) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (collector) DO UPDATE SET state = excluded.state, restarts = excluded.restarts,
          last_error = excluded.last_error, updated_at = excluded.updated_at, checkpoints = excluded.checkpoints`),
    };
  }

  private decode(row: StateRow): CollectorStateRecord {
    return {
      collector: row.collector,
      state: row.state,
      restarts: row.restarts,
      lastError: row.last_error,
      updatedAt: row.updated_at,
      checkpoints: decodeCheckpoints(row.checkpoints, `of ${row.collector} in ${this.hooks.path}`),
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
