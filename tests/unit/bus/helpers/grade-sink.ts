// A "student information system" sink used by the SIGKILL test, in the child and in the restarted parent.
// Applying a grade is idempotent on the event's source + id (the C38 remedy); `deliveries` counts every
// handler call so the test can see at-least-once.
import Database from 'better-sqlite3';
import type { BatchHandler } from '../../../../core/bus/types.ts';

export function openSis(file: string): Database.Database {
  const db = new Database(file, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS deliveries (n INTEGER PRIMARY KEY, event_id TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS applied (source TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (source, id));
    CREATE TABLE IF NOT EXISTS totals (student TEXT PRIMARY KEY, score INTEGER NOT NULL);
  `);
  return db;
}

export function gradeSink(db: Database.Database, delayMs: number): BatchHandler<{ studentNo: string; score: number }> {
  const delivered = db.prepare('INSERT INTO deliveries (event_id) VALUES (?)');
  const apply = db.prepare('INSERT OR IGNORE INTO applied (source, id) VALUES (?, ?)');
  const add = db.prepare('INSERT INTO totals (student, score) VALUES (?, ?) ON CONFLICT (student) DO UPDATE SET score = score + excluded.score');
  const write = db.transaction((events: { source: string; id: string; data: { studentNo: string; score: number } }[]) => {
    for (const e of events) {
      delivered.run(e.id);
      if (apply.run(e.source, e.id).changes === 1) add.run(e.data.studentNo, e.data.score);
    }
  });
  return async (batch) => {
    write(batch.map((d) => d.event));
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  };
}
