// Runs, frozen snapshots and output files of the reporting plugin, in a SQLite file of its own under
// the plugin's data folder (see docs/reporting.md#storage for why not a core migration).
// Snapshots and files that contain PII are stored as vault ciphertext only.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ReportFile, ReportRun, RunStatus } from './types.ts';

export interface StoredFile extends ReportFile {
  /** base64 of the bytes, or vault ciphertext of that base64 when `encrypted`. */
  content: string;
  encrypted: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS report_runs (
  id TEXT PRIMARY KEY,
  definition TEXT NOT NULL,
  member TEXT NOT NULL,
  school_year TEXT NOT NULL,
  status TEXT NOT NULL,
  snapshot_hash TEXT NOT NULL,
  run_json TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS report_runs_scope ON report_runs (definition, member, school_year, created_at);
CREATE TABLE IF NOT EXISTS report_snapshots (
  run_id TEXT PRIMARY KEY REFERENCES report_runs(id),
  encrypted INTEGER NOT NULL,
  content TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS report_files (
  run_id TEXT NOT NULL REFERENCES report_runs(id),
  name TEXT NOT NULL,
  encrypted INTEGER NOT NULL,
  content TEXT NOT NULL,
  PRIMARY KEY (run_id, name)
);
`;

/** Sortable run id: time in base36 then randomness (like the store's ids). */
export function newRunId(): string {
  return `rr${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;
}

export interface RunStore {
  insert(run: ReportRun, snapshot: { content: string; encrypted: boolean }, files: StoredFile[]): void;
  update(run: ReportRun): void;
  get(id: string): ReportRun | undefined;
  list(query: { member?: string | null; definition?: string; limit?: number }): ReportRun[];
  /** The last run of the same definition/member/year that was accepted by its target (delivered). */
  lastAccepted(definition: string, member: string, schoolYear: string, exceptId?: string): ReportRun | undefined;
  snapshot(id: string): { content: string; encrypted: boolean } | undefined;
  file(id: string, name: string): StoredFile | undefined;
  close(): void;
}

export function openRunStore(dataDir: string): RunStore {
  const db = new Database(join(dataDir, 'reports.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  const parse = (row: { run_json: string } | undefined): ReportRun | undefined => (row ? (JSON.parse(row.run_json) as ReportRun) : undefined);
  const insertRun = db.prepare('INSERT INTO report_runs (id, definition, member, school_year, status, snapshot_hash, run_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const insertSnapshot = db.prepare('INSERT INTO report_snapshots (run_id, encrypted, content) VALUES (?, ?, ?)');
  const insertFile = db.prepare('INSERT INTO report_files (run_id, name, encrypted, content) VALUES (?, ?, ?, ?)');
  const updateRun = db.prepare('UPDATE report_runs SET status = ?, run_json = ? WHERE id = ?');
  const getRun = db.prepare('SELECT run_json FROM report_runs WHERE id = ?');
  const accepted = db.prepare(
    "SELECT run_json FROM report_runs WHERE definition = ? AND member = ? AND school_year = ? AND status = 'delivered' AND id <> ? ORDER BY created_at DESC, id DESC LIMIT 1",
  );
  const getSnapshot = db.prepare('SELECT encrypted, content FROM report_snapshots WHERE run_id = ?');
  const getFile = db.prepare('SELECT encrypted, content FROM report_files WHERE run_id = ? AND name = ?');

  const insertAll = db.transaction((run: ReportRun, snapshot: { content: string; encrypted: boolean }, files: StoredFile[]) => {
    insertRun.run(run.id, run.definition, run.member, run.schoolYear, run.status, run.snapshotHash, JSON.stringify(run), run.createdAt);
    insertSnapshot.run(run.id, snapshot.encrypted ? 1 : 0, snapshot.content);
    for (const f of files) insertFile.run(run.id, f.name, f.encrypted ? 1 : 0, f.content);
  });

  return {
    insert(run, snapshot, files) {
      insertAll(run, snapshot, files);
    },
    update(run) {
      updateRun.run(run.status satisfies RunStatus, JSON.stringify(run), run.id);
    },
    get(id) {
      return parse(getRun.get(id) as { run_json: string } | undefined);
    },
    list(query) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (query.member) {
        where.push('member = ?');
        args.push(query.member);
      }
      if (query.definition) {
        where.push('definition = ?');
        args.push(query.definition);
      }
      const sql = `SELECT run_json FROM report_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
      return (db.prepare(sql).all(...args, Math.min(query.limit ?? 100, 1000)) as { run_json: string }[]).map((r) => parse(r)!);
    },
    lastAccepted(definition, member, schoolYear, exceptId = '') {
      return parse(accepted.get(definition, member, schoolYear, exceptId) as { run_json: string } | undefined);
    },
    snapshot(id) {
      const row = getSnapshot.get(id) as { encrypted: number; content: string } | undefined;
      return row ? { content: row.content, encrypted: row.encrypted === 1 } : undefined;
    },
    file(id, name) {
      const run = parse(getRun.get(id) as { run_json: string } | undefined);
      const meta = run?.files.find((f) => f.name === name);
      const row = getFile.get(id, name) as { encrypted: number; content: string } | undefined;
      return meta && row ? { ...meta, content: row.content, encrypted: row.encrypted === 1 } : undefined;
    },
    close() {
      db.close();
    },
  };
}
