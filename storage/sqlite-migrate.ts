import type Database from 'better-sqlite3';
import type { Logger } from '../common/logger.js';
import { encodeRow } from './sqlite-rows.js';

const PAGE_ROWS = 50_000;

/*
 * Schema 1 (the first releases) kept one row per (series, ms, field) with field names in a
 * `fields` table; schema 2 keeps one row per (series, ms) with the fields packed in the
 * series' column order. Files are upgraded in place, in one transaction, when a writer opens them.
 */

/** Rewrites a schema-1 file's samples as schema-2 rows; runs inside the caller's transaction. */
export function migrateSchema1To2(db: Database.Database, path: string, logger: Logger): void {
  const started = Date.now();
  db.exec(`ALTER TABLE series ADD COLUMN columns TEXT NOT NULL DEFAULT '[]';
    CREATE TABLE samples_v2 (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, v BLOB NOT NULL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID;`);
  const fieldName = new Map((db.prepare('SELECT id, name FROM fields').all() as Array<{ id: number; name: string }>).map((f) => [f.id, f.name]));
  const insert = db.prepare('INSERT INTO samples_v2 (series_id, ts, v) VALUES (?, ?, ?)');
  const setColumns = db.prepare('UPDATE series SET columns = ? WHERE id = ?');
  // Paged: a statement being iterated cannot share its connection with the inserts.
  const page = db.prepare('SELECT ts, field_id, v FROM samples WHERE series_id = ? AND ts >= ? ORDER BY ts, field_id LIMIT ?').raw();
  let samples = 0;
  for (const { id, fields } of db.prepare('SELECT id, fields FROM series').all() as Array<{ id: number; fields: string }>) {
    const columns = Object.keys(JSON.parse(fields) as Record<string, unknown>);
    const record: Record<string, number> = {};
    let ts: number | undefined;
    const write = () => {
      // A field written but missing from the series' fields (only if edited by hand) still gets a column.
      for (const name in record) if (!columns.includes(name)) columns.push(name);
      insert.run(id, ts, encodeRow(record, columns));
      samples += 1;
    };
    for (let from = 0; ; ) {
      const rows = page.all(id, from, PAGE_ROWS) as Array<[number, number, number]>;
      const full = rows.length === PAGE_ROWS;
      // A full page may end inside a millisecond's fields: that millisecond starts the next page.
      const until = full ? rows[rows.length - 1]![0] : Infinity;
      for (const [t, fieldId, v] of rows) {
        if (t >= until) break;
        if (t !== ts) {
          if (ts !== undefined) write();
          ts = t;
          for (const name in record) delete record[name];
        }
        record[fieldName.get(fieldId) ?? `field_${fieldId}`] = v;
      }
      if (!full) break;
      from = until;
    }
    if (ts !== undefined) write();
    setColumns.run(JSON.stringify(columns), id);
  }
  db.exec('DROP TABLE samples; ALTER TABLE samples_v2 RENAME TO samples; DROP TABLE fields;');
  logger.info({ path, samples, ms: Date.now() - started }, 'SQLite file upgraded from schema 1 to 2 (one row per sample)');
}
